/*
 * trap.S - heapkit's x86-64 test kernel: exception and syscall entry, the
 * way into ring 3, and the user programme.
 *
 * Every vector pushes an error code (0 where the CPU pushes none) and its
 * number, then trap_common saves the general registers and calls
 * trap(frame) (kernel.c). The frame is 16-byte aligned at the call: the CPU
 * aligns RSP before pushing its 5 words, and 5 + 2 + 15 words is 176 bytes.
 * A handler that returns resumes the interrupted code (iretq, with the
 * registers as trap() left them: the syscall result in rax).
 */
    .text
    .code64

.macro VEC n, err
    .globl vec\n
vec\n:
    .if \err == 0
    pushq $0
    .endif
    pushq $\n
    jmp   trap_common
.endm

VEC 0,0
VEC 1,0
VEC 2,0
VEC 3,0
VEC 4,0
VEC 5,0
VEC 6,0
VEC 7,0
VEC 8,1
VEC 9,0
VEC 10,1
VEC 11,1
VEC 12,1
VEC 13,1
VEC 14,1
VEC 15,0
VEC 16,0
VEC 17,1
VEC 18,0
VEC 19,0
VEC 20,0
VEC 21,1
VEC 128,0

trap_common:
    push  %rax
    push  %rbx
    push  %rcx
    push  %rdx
    push  %rsi
    push  %rdi
    push  %rbp
    push  %r8
    push  %r9
    push  %r10
    push  %r11
    push  %r12
    push  %r13
    push  %r14
    push  %r15
    mov   %rsp, %rdi
    cld
    call  trap
    pop   %r15
    pop   %r14
    pop   %r13
    pop   %r12
    pop   %r11
    pop   %r10
    pop   %r9
    pop   %r8
    pop   %rbp
    pop   %rdi
    pop   %rsi
    pop   %rdx
    pop   %rcx
    pop   %rbx
    pop   %rax
    add   $16, %rsp
    iretq

/* arch_enter_user(entry, sp, a0, a1): iretq to ring 3 (user code 0x23,
 * user data 0x1b), interrupts still off, a0/a1 in rdi/rsi. */
    .globl arch_enter_user
arch_enter_user:
    mov   %rdi, %r8
    mov   %rsi, %r9
    pushq $0x1b                    /* ss */
    push  %r9                      /* rsp */
    pushq $0x2                     /* rflags: IF clear */
    pushq $0x23                    /* cs */
    push  %r8                      /* rip */
    mov   %rdx, %rdi
    mov   %rcx, %rsi
    xor   %eax, %eax
    xor   %ebx, %ebx
    xor   %ecx, %ecx
    xor   %edx, %edx
    xor   %ebp, %ebp
    xor   %r8d, %r8d
    xor   %r9d, %r9d
    xor   %r10d, %r10d
    xor   %r11d, %r11d
    xor   %r12d, %r12d
    xor   %r13d, %r13d
    xor   %r14d, %r14d
    xor   %r15d, %r15d
    iretq

/* arch_load_segments(gdt_ptr, tss_selector): lgdt, reload CS by a far
 * return, the data segments, then ltr. */
    .globl arch_load_segments
arch_load_segments:
    lgdt  (%rdi)
    pushq $0x08
    lea   1f(%rip), %rax
    push  %rax
    lretq
1:  mov   $0x10, %ax
    mov   %ax, %ds
    mov   %ax, %es
    mov   %ax, %ss
    ltr   %si
    ret

/* The user programme, copied to a user page and run in ring 3; position
 * independent. Syscalls: int 0x80, rax = number, rdi = argument, result in
 * rax; every other register is preserved.
 *   rdi = 0: grow the heap by 4 pages (sbrk), read two of them (zero page),
 *            write one read page (copy on first write) and one untouched
 *            (a fresh frame), grow by 2 more and check they follow, push on
 *            the demand-paged stack; exit with a bit per check (0x1f: all).
 *   rdi = 1: write to the kernel address in rsi (must be refused). */
    .section .rodata
    .globl user_blob, user_blob_end
user_blob:
    cmp   $1, %rdi
    je    9f
    mov   $2, %eax
    mov   $4, %edi
    int   $0x80
    mov   %rax, %rbx
    mov   (%rbx), %rcx
    or    4096(%rbx), %rcx
    movq  $0x1234, (%rbx)
    movq  $7, 8192(%rbx)
    mov   $2, %eax
    mov   $2, %edi
    int   $0x80
    mov   %rax, %r12
    sub   %rbx, %r12
    movq  $1, (%rax)
    pushq $5
    pop   %r13
    xor   %edi, %edi
    test  %rcx, %rcx
    jnz   1f
    or    $16, %edi
1:  cmpq  $0x1234, (%rbx)
    jne   2f
    or    $1, %edi
2:  cmp   $16384, %r12
    jne   3f
    or    $2, %edi
3:  cmpq  $7, 8192(%rbx)
    jne   4f
    or    $4, %edi
4:  cmp   $5, %r13
    jne   5f
    or    $8, %edi
5:  mov   $1, %eax
    int   $0x80
9:  movq  $1, (%rsi)
    mov   $1, %eax
    mov   $99, %edi
    int   $0x80
user_blob_end:

    .section .note.GNU-stack, "", @progbits
