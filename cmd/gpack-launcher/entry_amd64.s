#include "go_asm.h"
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
	// The file limit: a soft limit below the hard one is raised to it
	// now, before the runtime opens its first files (it raises the limit
	// itself only later, in package syscall), and put back for the program.
	MOVQ	$302, AX // prlimit64(0, RLIMIT_NOFILE, NULL, &startNofile)
	MOVQ	$0, DI
	MOVQ	$7, SI
	MOVQ	$0, DX
	LEAQ	·startNofile(SB), R10
	SYSCALL
	CMPQ	AX, $0
	JNE	asstart
	MOVQ	·startNofile(SB), R12
	MOVQ	·startNofile+8(SB), R13
	CMPQ	R12, R13
	JCC	asstart
	MOVQ	R13, entryRlimit<>(SB)
	MOVQ	R13, entryRlimit<>+8(SB)
	MOVQ	$302, AX
	MOVQ	$0, DI
	MOVQ	$7, SI
	LEAQ	entryRlimit<>(SB), DX
	MOVQ	$0, R10
	SYSCALL
	CMPQ	AX, $0
	JNE	asstart
	ORQ	$1, ·startRaised(SB)
asstart:
	// The address-space limit (ulimit -v): the runtime reserves some
	// 700 MiB of address space at start, and dies without a word below
	// that. A lower soft limit is raised to the hard one, and put back for
	// the program; a hard limit that is too low ends here, in one line.
	MOVQ	$302, AX // prlimit64(0, RLIMIT_AS, NULL, &startAS)
	MOVQ	$0, DI
	MOVQ	$9, SI
	MOVQ	$0, DX
	LEAQ	·startAS(SB), R10
	SYSCALL
	CMPQ	AX, $0
	JNE	done
	MOVQ	$const_minAddressSpace, R14
	MOVQ	·startAS(SB), R12
	CMPQ	R12, R14
	JCC	done
	MOVQ	·startAS+8(SB), R13
	CMPQ	R13, R14
	JCS	toolow
	MOVQ	R13, entryRlimit<>(SB)
	MOVQ	R13, entryRlimit<>+8(SB)
	MOVQ	$302, AX
	MOVQ	$0, DI
	MOVQ	$9, SI
	LEAQ	entryRlimit<>(SB), DX
	MOVQ	$0, R10
	SYSCALL
	CMPQ	AX, $0
	JNE	toolow
	ORQ	$2, ·startRaised(SB)
	JMP	done
toolow:
	MOVQ	$1, AX // write(2, msg, len)
	MOVQ	$2, DI
	LEAQ	entryASMsg<>(SB), SI
	MOVQ	$const_asMsgLen, DX
	SYSCALL
	MOVQ	$231, AX // exit_group(126)
	MOVQ	$126, DI
	SYSCALL
done:
	MOVL	$1, ·startCaptured(SB)
	JMP	_rt0_amd64_linux(SB)

// A struct rlimit64 to set.
GLOBL entryRlimit<>(SB), NOPTR, $16

DATA entryASMsg<>+0(SB)/8, $"gpack-la"
DATA entryASMsg<>+8(SB)/8, $"uncher: "
DATA entryASMsg<>+16(SB)/8, $"the addr"
DATA entryASMsg<>+24(SB)/8, $"ess-spac"
DATA entryASMsg<>+32(SB)/8, $"e limit "
DATA entryASMsg<>+40(SB)/8, $"(ulimit "
DATA entryASMsg<>+48(SB)/8, $"-v) is b"
DATA entryASMsg<>+56(SB)/8, $"elow the"
DATA entryASMsg<>+64(SB)/8, $" 720 MiB"
DATA entryASMsg<>+72(SB)/8, $" (737280"
DATA entryASMsg<>+80(SB)/8, $" KiB) th"
DATA entryASMsg<>+88(SB)/8, $"at the l"
DATA entryASMsg<>+96(SB)/8, $"auncher'"
DATA entryASMsg<>+104(SB)/8, $"s Go run"
DATA entryASMsg<>+112(SB)/8, $"time res"
DATA entryASMsg<>+120(SB)/8, $"erves at"
DATA entryASMsg<>+128(SB)/8, $" start, "
DATA entryASMsg<>+136(SB)/8, $"and its "
DATA entryASMsg<>+144(SB)/8, $"hard lim"
DATA entryASMsg<>+152(SB)/8, $"it forbi"
DATA entryASMsg<>+160(SB)/8, $"ds raisi"
DATA entryASMsg<>+168(SB)/8, $"ng it: r"
DATA entryASMsg<>+176(SB)/8, $"un the p"
DATA entryASMsg<>+184(SB)/8, $"ack extr"
DATA entryASMsg<>+192(SB)/8, $"acted at"
DATA entryASMsg<>+200(SB)/8, $" / (tar "
DATA entryASMsg<>+208(SB)/8, $"-x -C /)"
DATA entryASMsg<>+216(SB)/8, $", or und"
DATA entryASMsg<>+224(SB)/8, $"er ulimi"
DATA entryASMsg<>+232(SB)/8, $"t -v 737"
DATA entryASMsg<>+240(SB)/8, $"280 or m"
DATA entryASMsg<>+248(SB)/8, $"ore\n\x00\x00\x00\x00"
GLOBL entryASMsg<>(SB), RODATA|NOPTR, $256

// A struct sigaction to read into (the handler is its first word).
GLOBL entrySigaction<>(SB), NOPTR, $32
