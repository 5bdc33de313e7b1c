/* selfexe: prints the links that name the running program, /proc/self/exe
 * and /proc/PID/exe, and argv[0]. Programs find their data next to
 * themselves from the link, so a launcher must show the program's store
 * path there; argv[0] must stay as the user typed it. */
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

static int show(const char *label, const char *link) {
	char buf[PATH_MAX];
	ssize_t n = readlink(link, buf, sizeof buf - 1);
	if (n < 0) {
		perror(link);
		return 1;
	}
	buf[n] = '\0';
	printf("%s: %s\n", label, buf);
	return 0;
}

int main(int argc, char **argv) {
	(void)argc;
	char pidlink[64];
	snprintf(pidlink, sizeof pidlink, "/proc/%d/exe", (int)getpid());
	int bad = show("/proc/self/exe", "/proc/self/exe");
	bad |= show("/proc/PID/exe", pidlink);
	printf("argv[0]: %s\n", argv[0]);
	return bad;
}
