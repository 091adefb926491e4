"""The exit statuses of every `integrity-audit` command: one table, used everywhere (docs/cli.md).

0 means the command did what was asked. 1 means the answer is "no": the thing named does not exist,
or the command's own check found problems (a run failed, the trail does not verify, a rule file has
errors, a source failed to load, an alert's proof did not reproduce, a due period failed). 2 means
the command was not given something it can use (arguments, options, config: nothing was done).
3 and 4 belong to the audit run: finished but incomplete, or the period is held by another process.
"""
from __future__ import annotations

OK = 0
#: the alert, run, rule, user or period's run named does not exist
NOT_FOUND = 1
#: the command ran and its check says no: a failed run, problems found, not reproduced
PROBLEMS = 1
#: bad arguments, options or config, or input refused; nothing was changed (click's own usage errors too)
USAGE = 2
#: `run` finished but a source or rule failed: the report says the audit is incomplete
INCOMPLETE = 3
#: another process holds the period (a run or its publishing is under way)
LOCKED = 4

TABLE = ((OK, "success"),
         (1, "not found (the alert, run, rule or period's run named does not exist), or the command's own "
             "check said no: a run failed, `audit verify` found problems, `rules validate`/`rules test` "
             "found errors or failures, `sources check` could not load a source, `alerts prove` did not "
             "reproduce, `schedule run-due` had a period fail"),
         (USAGE, "usage: an unknown option or value, an unreadable config, input refused; nothing was changed"),
         (INCOMPLETE, "`run`: the audit finished but is incomplete (a source or rule failed)"),
         (LOCKED, "another process holds the period: try again when it has finished"))
