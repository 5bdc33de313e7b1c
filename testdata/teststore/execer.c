/* execer: execs hello by the absolute store path compiled into it, the way
 * wrappers and interpreters start other store programs. */
#include <stdio.h>
#include <unistd.h>

#ifndef HELLO_PATH
#error "compile with -DHELLO_PATH=\"<store>/<hash>-hello/bin/hello\""
#endif

int main(int argc, char **argv) {
	(void)argc;
	argv[0] = HELLO_PATH;
	execv(HELLO_PATH, argv);
	perror("execer: execv " HELLO_PATH);
	return 127;
}
