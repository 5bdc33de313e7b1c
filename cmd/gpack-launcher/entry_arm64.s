#include "textflag.h"

// _gpack_launcher_entry is the launcher's ELF entry point: see
// entry_amd64.s. It records the signal mask, the ignored signals and the
// closed standard descriptors before the Go runtime changes them, then
// jumps to the runtime's own entry with the stack untouched.
TEXT _gpack_launcher_entry(SB),NOSPLIT|NOFRAME,$0
	// rt_sigprocmask(SIG_BLOCK, NULL, &startMask, 8)
	MOVD	$135, R8
	MOVD	$0, R0
	MOVD	$0, R1
	MOVD	$·startMask(SB), R2
	MOVD	$8, R3
	SVC
	// rt_sigaction(sig, NULL, &sa, 8) for sig 1..64; SIG_IGN sets bit sig-1.
	MOVD	$1, R9
sigloop:
	MOVD	$134, R8
	MOVD	R9, R0
	MOVD	$0, R1
	MOVD	$entrySigaction<>(SB), R2
	MOVD	$8, R3
	SVC
	CMP	$0, R0
	BNE	signext
	MOVD	$entrySigaction<>(SB), R2
	MOVD	(R2), R10
	CMP	$1, R10
	BNE	signext
	SUB	$1, R9, R11
	MOVD	$1, R10
	LSL	R11, R10, R10
	MOVD	$·startIgnored(SB), R2
	MOVD	(R2), R11
	ORR	R10, R11, R11
	MOVD	R11, (R2)
signext:
	ADD	$1, R9, R9
	CMP	$65, R9
	BNE	sigloop
	// fcntl(fd, F_GETFD) for fd 0..2; EBADF sets bit fd.
	MOVD	$0, R9
fdloop:
	MOVD	$25, R8
	MOVD	R9, R0
	MOVD	$1, R1
	SVC
	CMN	$9, R0
	BNE	fdnext
	MOVD	$1, R10
	LSL	R9, R10, R10
	MOVD	$·startClosed(SB), R2
	MOVD	(R2), R11
	ORR	R10, R11, R11
	MOVD	R11, (R2)
fdnext:
	ADD	$1, R9, R9
	CMP	$3, R9
	BNE	fdloop
	MOVD	$·startCaptured(SB), R2
	MOVD	$1, R10
	MOVW	R10, (R2)
	JMP	_rt0_arm64_linux(SB)

GLOBL entrySigaction<>(SB), NOPTR, $32
