/* libgreet: the shared library that hello links against, so that hello's
 * closure has a library found only through RUNPATH. */
const char *greet(void) { return "greetings from libgreet"; }
