#include "nobody.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>

#include "fevtest.h"

static const struct passwd *nobody(void)
{
	return getpwnam("nobody");
}

bool nb_available(void)
{
	if (geteuid() != 0 || nobody() == NULL) {
		fprintf(stderr, "skipped: the attacker runs as user nobody, "
				"which needs root and a 'nobody' account\n");
		return false;
	}
	return true;
}

uid_t nb_uid(void)
{
	return nobody()->pw_uid;
}

pid_t nb_spawn(int (*fn)(void *arg), void *arg)
{
	const struct passwd *pw = nobody();
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		_exit(126);
	_exit(fn(arg));
}

int nb_run(int (*fn)(void *arg), void *arg, unsigned timeout_ms)
{
	return fevtest_wait(nb_spawn(fn, arg), timeout_ms);
}
