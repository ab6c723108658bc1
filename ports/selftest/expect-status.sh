#!/bin/sh
# SPDX-License-Identifier: MIT
# expect-status.sh EXPECTED COMMAND... - runs COMMAND (stdin from /dev/null)
# and succeeds iff its exit status is EXPECTED, or any status but 0 and 124
# (timeout) when EXPECTED is "nonzero".
want=$1; shift
"$@" </dev/null
rc=$?
echo "exit status $rc (expected $want)"
if [ "$want" = nonzero ]; then
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]
else
    [ "$rc" -eq "$want" ]
fi
