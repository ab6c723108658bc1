/* SPDX-License-Identifier: MIT */
/* task.h - test double (see FreeRTOS.h): the scheduler lock heap_4 uses. */
#ifndef FAKE_TASK_H
#define FAKE_TASK_H

#include "FreeRTOS.h"

void vTaskSuspendAll(void);
BaseType_t xTaskResumeAll(void);

#endif /* FAKE_TASK_H */
