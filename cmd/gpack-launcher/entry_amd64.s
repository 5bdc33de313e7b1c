#include "textflag.h"

// _gpack_launcher_entry is the launcher's ELF entry point (the linker's
// -E, set by launcher/launcherbin/build.sh). It runs before the Go runtime,
// which changes three things the program must inherit as they were: it
// unblocks the signals it handles (SIGINT, SIGTERM, …), installs handlers
// over inherited SIG_IGN dispositions, and opens /dev/null on closed
// standard descriptors. So it records the signal mask, the ignored
// signals and the closed descriptors 0-2 first, then jumps to the runtime's
// own entry with the stack untouched.
TEXT _gpack_launcher_entry(SB),NOSPLIT|NOFRAME,$0
	// rt_sigprocmask(SIG_BLOCK, NULL, &startMask, 8)
	MOVQ	$14, AX
	MOVQ	$0, DI
	MOVQ	$0, SI
	LEAQ	·startMask(SB), DX
	MOVQ	$8, R10
	SYSCALL
	// rt_sigaction(sig, NULL, &sa, 8) for sig 1..64; SIG_IGN sets bit sig-1.
	MOVQ	$1, R12
sigloop:
	MOVQ	$13, AX
	MOVQ	R12, DI
	MOVQ	$0, SI
	LEAQ	entrySigaction<>(SB), DX
	MOVQ	$8, R10
	SYSCALL
	CMPQ	AX, $0
	JNE	signext
	MOVQ	entrySigaction<>(SB), R13
	CMPQ	R13, $1
	JNE	signext
	MOVQ	R12, CX
	SUBQ	$1, CX
	MOVQ	$1, R13
	SHLQ	CX, R13
	ORQ	R13, ·startIgnored(SB)
signext:
	INCQ	R12
	CMPQ	R12, $65
	JNE	sigloop
	// fcntl(fd, F_GETFD) for fd 0..2; EBADF sets bit fd.
	MOVQ	$0, R12
fdloop:
	MOVQ	$72, AX
	MOVQ	R12, DI
	MOVQ	$1, SI
	SYSCALL
	CMPQ	AX, $-9
	JNE	fdnext
	MOVQ	R12, CX
	MOVQ	$1, R13
	SHLQ	CX, R13
	ORQ	R13, ·startClosed(SB)
fdnext:
	INCQ	R12
	CMPQ	R12, $3
	JNE	fdloop
	MOVL	$1, ·startCaptured(SB)
	JMP	_rt0_amd64_linux(SB)

// A struct sigaction to read into (the handler is its first word).
GLOBL entrySigaction<>(SB), NOPTR, $32
