#include "go_asm.h"
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
	// The file limit: see entry_amd64.s.
	MOVD	$261, R8 // prlimit64(0, RLIMIT_NOFILE, NULL, &startNofile)
	MOVD	$0, R0
	MOVD	$7, R1
	MOVD	$0, R2
	MOVD	$·startNofile(SB), R3
	SVC
	CMP	$0, R0
	BNE	asstart
	MOVD	$·startNofile(SB), R2
	MOVD	(R2), R12
	MOVD	8(R2), R13
	CMP	R13, R12
	BHS	asstart
	MOVD	$entryRlimit<>(SB), R2
	MOVD	R13, (R2)
	MOVD	R13, 8(R2)
	MOVD	$261, R8
	MOVD	$0, R0
	MOVD	$7, R1
	MOVD	$0, R3
	SVC
	CMP	$0, R0
	BNE	asstart
	MOVD	$·startRaised(SB), R2
	MOVD	(R2), R10
	ORR	$1, R10, R10
	MOVD	R10, (R2)
asstart:
	// The address-space limit: see entry_amd64.s.
	MOVD	$261, R8 // prlimit64(0, RLIMIT_AS, NULL, &startAS)
	MOVD	$0, R0
	MOVD	$9, R1
	MOVD	$0, R2
	MOVD	$·startAS(SB), R3
	SVC
	CMP	$0, R0
	BNE	done
	MOVD	$const_minAddressSpace, R14
	MOVD	$·startAS(SB), R2
	MOVD	(R2), R12
	CMP	R14, R12
	BHS	done
	MOVD	8(R2), R13
	CMP	R14, R13
	BLO	toolow
	MOVD	$entryRlimit<>(SB), R2
	MOVD	R13, (R2)
	MOVD	R13, 8(R2)
	MOVD	$261, R8
	MOVD	$0, R0
	MOVD	$9, R1
	MOVD	$0, R3
	SVC
	CMP	$0, R0
	BNE	toolow
	MOVD	$·startRaised(SB), R2
	MOVD	(R2), R10
	ORR	$2, R10, R10
	MOVD	R10, (R2)
	B	done
toolow:
	MOVD	$64, R8 // write(2, msg, len)
	MOVD	$2, R0
	MOVD	$entryASMsg<>(SB), R1
	MOVD	$const_asMsgLen, R2
	SVC
	MOVD	$94, R8 // exit_group(126)
	MOVD	$126, R0
	SVC
done:
	MOVD	$·startCaptured(SB), R2
	MOVD	$1, R10
	MOVW	R10, (R2)
	JMP	_rt0_arm64_linux(SB)

GLOBL entrySigaction<>(SB), NOPTR, $32

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

