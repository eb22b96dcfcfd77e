/* fev group: create, delete or list the consumer groups of a topic. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "control.h"
#include "fev/fev.h"
#include "names.h"
#include "queue_opts.h"

static void usage(FILE *f)
{
	fputs("Usage: fev group create TOPIC GROUP [--start latest|earliest]\n"
	      "                                     [--policy block|drop] "
	      "[--ordered]\n"
	      "                                     [--session-timeout "
	      "DURATION|off]\n"
	      "       fev group delete TOPIC GROUP\n"
	      "       fev group list TOPIC\n"
	      "\n"
	      "Administer the consumer groups of a topic through fevd's "
	      "control socket.\nEvery group sees every event of the topic "
	      "(one copy in shared memory:\nproducers wait for the slowest "
	      "group); the members of one group share its\nevents.  A topic "
	      "starts with the group 'default'.  Members join with\n"
	      "'fev sub TOPIC@K --group GROUP' or fev_open_opts.group.  "
	      "Creating and\ndeleting needs root, fevd's user or a member of "
	      "its admin group.\nlist prints each group's mode and "
	      "policy, and for an ordered group its\nsession timeout and "
	      "how many partitions fevd revoked from stalled members.\n"
	      "\n"
	      "Options:\n"
	      "  -s, --start WHERE     latest (default: what is published "
	      "next) or earliest\n"
	      "                        (first what the partitions still "
	      "hold)\n"
	      "  -p, --policy POLICY   block (default: producers wait for "
	      "the group) or drop\n"
	      "                        (when only it is in the way, it loses "
	      "its oldest event;\n"
	      "                        its next event says FEV_GAP)\n"
	      "  -o, --ordered         each partition is owned by one live "
	      "member at a time,\n"
	      "                        so a key's events are processed in "
	      "order (members\n"
	      "                        join with fev_member_join(); default: "
	      "shared)\n"
	      "  -t, --session-timeout DURATION|off\n"
	      "                        ordered: a member that makes no call "
	      "for this long\n"
	      "                        (stopped, hung) loses its partitions, "
	      "with the events\n"
	      "                        it held, to the others, and must join "
	      "again (default\n"
	      "                        30s; off: it keeps them)\n"
	      "  -q, --quiet           print nothing on success\n"
	      "  -I, --instance NAME   fabric instance (default: "
	      "$FEV_INSTANCE or 'default')\n"
	      "  -h, --help            show this help\n"
	      "\n"
	      "Examples:\n"
	      "  fev topic create orders --partitions 4\n"
	      "  fev group create orders billing\n"
	      "  fev group create orders audit --start earliest\n"
	      "  fev group create orders stats --policy drop\n"
	      "  fev group create orders shipping --ordered\n"
	      "  fev group create orders invoices --ordered --session-timeout "
	      "10s\n"
	      "  fev group delete orders default\n"
	      "  fev group list orders\n"
	      "\n"
	      "Exit status: 0 success, 1 error (fevd not running, permission "
	      "denied, no such\ntopic or group, members attached), 2 usage "
	      "error.\n",
	      f);
}

/* An ordered group's session timeout as written: "30s", "400ms", "off". */
static void session_cell(char *buf, size_t len, uint32_t ms)
{
	if (ms == 0)
		snprintf(buf, len, "off");
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%us", ms / 1000);
	else
		snprintf(buf, len, "%ums", ms);
}

/* One group's line: its mode and policy as its records in the topic's
 * segments say, "?" where they cannot be read (no read access); for an
 * ordered group its session timeout and how many partitions fevd revoked
 * for it ("-" for a shared group). */
static void print_group(const char *inst, const char *topic,
			const char *group, int width)
{
	fev_group_info info = { .struct_size = sizeof(info) };
	int mode = fev_group_mode(topic, group, inst);
	int rc = fev_group_stats(topic, group, inst, &info);
	char session[16] = "-", revoked[24] = "-";

	if (rc < 0) {
		snprintf(session, sizeof(session), "?");
		snprintf(revoked, sizeof(revoked), "?");
	} else if (mode == FEV_GROUP_ORDERED) {
		session_cell(session, sizeof(session), info.session_timeout_ms);
		snprintf(revoked, sizeof(revoked), "%llu",
			 (unsigned long long)info.revoked);
	}
	printf("%-*s %-7s %-6s %-7s %s\n", width, group,
	       mode < 0 ? "?" : fev__group_mode_name(mode),
	       rc < 0 ? "?" : fev__group_policy_name(info.policy), session,
	       revoked);
}

/* fevd's group-list answer, one name a line, as a table. */
static void print_list(const char *inst, const char *topic, const char *body)
{
	int width = (int)strlen("GROUP");

	for (const char *p = body; *p != '\0';) {
		int n = (int)strcspn(p, "\n");

		if (n > width)
			width = n;
		p += n + (p[n] == '\n');
	}
	printf("%-*s %-7s %-6s %-7s %s\n", width, "GROUP", "MODE", "POLICY",
	       "SESSION", "REVOKED");
	for (const char *p = body; *p != '\0';) {
		char group[FEV_GROUP_NAME_MAX + 1];
		int n = (int)strcspn(p, "\n");

		snprintf(group, sizeof(group), "%.*s", n, p);
		if (n > 0)
			print_group(inst, topic, group, width);
		p += n + (p[n] == '\n');
	}
}

/* Send req to fevd; list_topic: print its answer, a group-list. */
static int request(const char *inst, const char *req,
		   const char *list_topic)
{
	struct ctl_reply *r = malloc(sizeof(*r));
	int rc;

	if (r == NULL) {
		cli_error("out of memory");
		return FEV_EXIT_ERROR;
	}
	rc = ctl_request(inst, req, r) < 0 ? FEV_EXIT_ERROR : FEV_EXIT_OK;
	if (rc == FEV_EXIT_OK && r->status != 0) {
		cli_error("%s", r->reason[0] != '\0' ? r->reason :
						       fev_strerror(r->status));
		rc = FEV_EXIT_ERROR;
	}
	if (rc == FEV_EXIT_OK && list_topic != NULL)
		print_list(inst, list_topic, r->body);
	free(r);
	return rc;
}

static int check_names(const char *topic, const char *group)
{
	if (fev_queue_name_valid(topic) < 0)
		return cli_usage_error("group",
				       "bad topic name '%s': 1 to %d "
				       "characters of A-Z a-z 0-9 . _ -",
				       topic, FEV_NAME_MAX);
	if (group != NULL && fev_group_name_valid(group) < 0)
		return cli_usage_error("group",
				       "bad group name '%s': 1 to %d "
				       "characters of A-Z a-z 0-9 . _ -",
				       group, FEV_GROUP_NAME_MAX);
	return 0;
}

static int run(const char *inst, const char *verb, char **args, int nargs,
	       const char *start, const char *policy, bool ordered,
	       const char *session, bool quiet)
{
	char req[320];
	bool list = strcmp(verb, "list") == 0;
	int rc;

	if (nargs != (list ? 1 : 2))
		return cli_usage_error("group", "%s takes %s", verb,
				       list ? "TOPIC" : "TOPIC GROUP");
	rc = check_names(args[0], list ? NULL : args[1]);
	if (rc != 0)
		return rc;
	if (list)
		snprintf(req, sizeof(req), "group-list %s", args[0]);
	else
		snprintf(req, sizeof(req), "group-%s %s %s%s%s%s%s%s%s%s",
			 verb, args[0], args[1],
			 start != NULL ? " start=" : "",
			 start != NULL ? start : "",
			 policy != NULL ? " policy=" : "",
			 policy != NULL ? policy : "",
			 ordered ? " mode=ordered" : "",
			 session != NULL ? " session_timeout=" : "",
			 session != NULL ? session : "");
	rc = request(inst, req, list ? args[0] : NULL);
	if (rc == FEV_EXIT_OK && !list && !quiet)
		printf("%sd group '%s' of topic '%s' in instance %s\n", verb,
		       args[1], args[0], inst);
	return rc;
}

int cmd_group(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "start", required_argument, NULL, 's' },
		{ "policy", required_argument, NULL, 'p' },
		{ "ordered", no_argument, NULL, 'o' },
		{ "session-timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "instance", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *inst_opt = NULL, *inst, *verb, *start = NULL;
	const char *policy = NULL, *session = NULL;
	bool quiet = false, ordered = false;
	uint32_t session_ms;
	int c;

	while ((c = getopt_long(argc, argv, ":s:p:ot:qI:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 's':
			if (strcmp(optarg, "latest") != 0 &&
			    strcmp(optarg, "earliest") != 0)
				return cli_usage_error("group",
						       "bad start '%s': latest "
						       "or earliest",
						       optarg);
			start = optarg;
			break;
		case 'p':
			if (fev__group_policy_parse(optarg) < 0)
				return cli_usage_error("group",
						       "bad policy '%s': "
						       FEV__GROUP_POLICY_NAMES,
						       optarg);
			policy = optarg;
			break;
		case 'o':
			ordered = true;
			break;
		case 't':
			if (fev__group_session_parse(optarg, &session_ms) < 0)
				return cli_usage_error(
					"group", "bad session timeout '%s': "
						 FEV__GROUP_SESSION_SYNTAX,
					optarg);
			session = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'I':
			inst_opt = optarg;
			break;
		case 'h':
			usage(stdout);
			return FEV_EXIT_OK;
		default:
			return cli_bad_option("group", c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error("group", "which action: create, delete "
						"or list?");
	verb = argv[optind++];
	if (strcmp(verb, "create") != 0 && strcmp(verb, "delete") != 0 &&
	    strcmp(verb, "list") != 0)
		return cli_usage_error("group",
				       "unknown action '%s': create, delete "
				       "or list",
				       verb);
	if (start != NULL && strcmp(verb, "create") != 0)
		return cli_usage_error("group", "--start is for create");
	if (policy != NULL && strcmp(verb, "create") != 0)
		return cli_usage_error("group", "--policy is for create");
	if (ordered && strcmp(verb, "create") != 0)
		return cli_usage_error("group", "--ordered is for create");
	if (session != NULL && !ordered)
		return cli_usage_error("group", "--session-timeout is for "
						"create --ordered");
	inst = cli_resolve_instance(inst_opt);
	if (inst == NULL)
		return FEV_EXIT_USAGE;
	return run(inst, verb, argv + optind, argc - optind, start, policy,
		   ordered, session, quiet);
}
