/* fevd: the fev supervisor daemon.  Everything lives in fevd_core. */
#include "supervisor.h"

int main(int argc, char **argv)
{
	return fevd_main(argc, argv);
}
