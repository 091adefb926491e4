"""Issue #13 item 3: notices only from the server's table, admin forms checked against the
workforce register, an alert's trail that never loses a decision to views, an assign list (and
POST) of only those who may take the alert, refused forms shown again with what was typed, and
the true reason on every "web.denied" event."""
from __future__ import annotations

import html as htmllib
import re
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

import seed
from audit.store import lifecycle, trail
from audit.store.queries import alert_view
from audit.web import pages, users

PHISH = "Your session expired, sign in at evil.example"
INTERNAL_ALERT = 55  # about S55 (Roads Policing, managed by P9): nobody seeded is conflicted with it
P1_ALERT = 2  # about P1 (Roads Policing): rita is P1, boss (P0) is P1's line manager
VETTING_ALERT = 61  # sensitive: CCU only


def _notice(html: str) -> str | None:
    m = re.search(r'<p class="notice" role="status"[^>]*>(.*?)</p>', html, re.S)
    return m.group(1) if m else None


def _follow(client, r):
    assert r.status_code == 303, (r.status_code, r.text[:500])
    location = r.headers["location"]
    query = dict(parse_qsl(urlsplit(location).query))
    known = getattr(pages, "NOTICES", {})  # the server's table of notices
    assert set(query) <= {"notice", "user"} and query.get("notice") in known, location  # a key, no free text
    return location, client.get(location).text


def _trail_table(html: str) -> str:
    m = re.search(r'<table class="trail".*?</table>', html, re.S)
    assert m, "the alert page has no trail table"
    return m.group(0)


def _denials(store, actor: str) -> list[str]:
    return [e["details"]["why"] for e in trail.events(store, action="web.denied", limit=1000) if e["actor"] == actor]


# -- 1. notices ---------------------------------------------------------------------------------

def test_a_url_cannot_put_its_own_words_in_the_notice_banner(client_for):
    from urllib.parse import urlencode

    rob, adam = client_for("rob"), client_for("adam")
    for client, url in ((rob, "/alerts"), (rob, f"/alerts/{INTERNAL_ALERT}"), (rob, "/people/S55"),
                        (adam, "/admin/users")):
        for param in ("msg", "notice", "message"):
            html = client.get(f"{url}?{urlencode({param: PHISH})}").text
            assert PHISH not in html and "evil.example" not in html and _notice(html) is None, (url, param)


def test_notice_values_come_from_server_state_not_the_url(client_for):
    rob, adam = client_for("rob"), client_for("adam")
    # alert 55 has no assignee: "assigned" has nothing to say, whatever the URL adds
    html = rob.get(f"/alerts/{INTERNAL_ALERT}?notice=assigned&assignee=evil.example&user=evil.example").text
    assert _notice(html) is None and "evil.example" not in html
    # an unknown user name, or a notice that does not match the account's state, shows nothing
    for query in ("notice=user_added&user=evil.example", "notice=user_disabled&user=rob",
                  "notice=password_reset&user=%3Cb%3Ex", "notice=nonsense&user=rob"):
        html = adam.get(f"/admin/users?{query}").text
        assert _notice(html) is None, query
    assert _notice(adam.get("/admin/users?notice=user_enabled&user=rob").text) == "User rob enabled."


def test_every_action_redirects_with_a_notice_key_the_page_fills_in(client_for, store, monkeypatch):
    rob = client_for("rob")
    _, html = _follow(rob, rob.post(f"/alerts/{INTERNAL_ALERT}/assign", data={"csrf": rob.csrf, "assignee": "rob"}))
    assert _notice(html) == "Assigned to rob."
    location, html = _follow(rob, rob.post(f"/alerts/{INTERNAL_ALERT}/status",
                                           data={"csrf": rob.csrf, "status": "false_positive", "note": "ok"}))
    assert location == f"/alerts/{INTERNAL_ALERT}?notice=status_changed"
    assert _notice(html) == "Status changed to False positive."
    _, html = _follow(rob, rob.post(f"/alerts/{INTERNAL_ALERT}/reopen", data={"csrf": rob.csrf, "note": "again"}))
    assert _notice(html) == "Reopened: the alert is in review again."
    until = (store.today() + timedelta(days=30)).isoformat()
    _, html = _follow(rob, rob.post(f"/alerts/{INTERNAL_ALERT}/suppress",
                                    data={"csrf": rob.csrf, "reason": "known", "until": until}))
    assert _notice(html) == f"Suppressed until {until}: it will not be raised again before then."
    from audit.web import queue
    monkeypatch.setattr(queue, "take_next", lambda *a, **k: None)
    location, html = _follow(rob, rob.post("/alerts/take-next", data={"csrf": rob.csrf}))
    assert location == "/alerts?notice=none_to_take" and _notice(html) == "There is no unassigned open alert for you."

    adam = client_for("adam")
    add = {"csrf": adam.csrf, "name": "newbie", "role": "reviewer", "password": "x" * 12, "password2": "x" * 12}
    location, html = _follow(adam, adam.post("/admin/users", data=add))
    assert location == "/admin/users?notice=user_added&user=newbie" and _notice(html) == "User newbie added as reviewer."
    _, html = _follow(adam, adam.post("/admin/users/newbie/disable", data={"csrf": adam.csrf}))
    assert _notice(html) == "User newbie disabled; their sessions have ended."
    _, html = _follow(adam, adam.post("/admin/users/newbie/enable", data={"csrf": adam.csrf}))
    assert _notice(html) == "User newbie enabled."
    _, html = _follow(adam, adam.post("/admin/users/newbie/password",
                                      data={"csrf": adam.csrf, "password": "y" * 12, "password2": "y" * 12}))
    assert _notice(html) == "Password of newbie reset; their sessions have ended."


# -- 2. admin forms check the workforce register ------------------------------------------------

@pytest.mark.parametrize("field, value, message", [
    ("department", "Narnia", "Department scope: 'Narnia' is not a department in the workforce register"),
    ("person_id", "P999", "Person id: 'P999' is not a person in the workforce register"),
])
def test_the_admin_form_refuses_a_department_or_person_not_in_the_register(client_for, store, field, value, message):
    adam = client_for("adam")
    data = {"csrf": adam.csrf, "name": "scoped", "role": "reviewer", "password": "x" * 12, "password2": "x" * 12,
            field: value}
    r = adam.post("/admin/users", data=data)
    assert r.status_code == 400 and message in htmllib.unescape(r.text)
    assert users.get_user(store, "scoped") is None
    assert trail.events(store, action="user.refused")[0]["details"]["why"].startswith(message.split(":")[0])


def test_the_admin_form_accepts_the_register_s_departments_and_people(client_for, store):
    adam = client_for("adam")
    data = {"csrf": adam.csrf, "name": "scoped", "role": "reviewer", "password": "x" * 12, "password2": "x" * 12,
            "department": "custody", "person_id": "P5"}
    assert adam.post("/admin/users", data=data).status_code == 303
    u = users.get_user(store, "scoped")
    assert (u.department, u.person_id) == ("Custody", "P5")  # the register's spelling
    assert '<option value="Roads Policing">' in adam.get("/admin/users").text  # offered as suggestions


# -- 3. the alert's trail keeps every decision ---------------------------------------------------

def test_views_never_push_a_decision_off_the_alert_s_trail(client_for, store):
    rob = client_for("rob")
    assert rob.post(f"/alerts/{INTERNAL_ALERT}/assign", data={"csrf": rob.csrf, "assignee": "rob"}).status_code == 303
    for _ in range(70):
        lifecycle.log_view(store, INTERNAL_ALERT, "cara")
    html = rob.get(f"/alerts/{INTERNAL_ALERT}").text
    table = _trail_table(html)
    assert "alert.assign" in table and "alert.view" not in table
    assert re.search(r'Viewed <b id="view-count">71</b> times', html)
    assert "?views=1" in html and 'id="view-list"' not in html
    first = rob.get(f"/alerts/{INTERNAL_ALERT}?views=1").text
    assert "alert.assign" in _trail_table(first)
    assert first.count('<td title="alert.view">viewed</td>') == 50 and "?views=2" in first
    second = rob.get(f"/alerts/{INTERNAL_ALERT}?views=2").text
    assert second.count('<td title="alert.view">viewed</td>') == 73 - 50  # two more views: the two pages just shown
    assert "?views=1" in second


# -- 4. the assign list and POST: only those who may take the alert ------------------------------

def _offered(html: str) -> set[str]:
    form = re.search(r'<select name="assignee">(.*?)</select>', html, re.S)
    return set(re.findall(r'<option value="([^"]+)"', form.group(1))) if form else set()


def test_the_assign_list_offers_only_those_who_may_take_the_alert(client_for, store):
    users.add_user(store, "gone", "reviewer", seed.PASSWORD, actor="test")
    users.set_active(store, "gone", False, actor="test")
    cara = client_for("cara")
    # alert 2 is about P1: not rita (the subject), boss (her line manager), dora (Custody only),
    # gone (disabled), aude (auditor) or adam (admin)
    assert _offered(cara.get(f"/alerts/{P1_ALERT}").text) == {"cara", "rob"}
    assert _offered(cara.get(f"/alerts/{VETTING_ALERT}").text) == {"cara"}  # sensitive: the CCU only
    assert alert_view(store, INTERNAL_ALERT).department == "Roads Policing"  # S55, managed by P9
    assert _offered(cara.get(f"/alerts/{INTERNAL_ALERT}").text) == {"boss", "cara", "rita", "rob"}


@pytest.mark.parametrize("alert_id, assignee, why", [
    (P1_ALERT, "boss", "conflict of interest: they line-manage the alert's subject"),
    (P1_ALERT, "rita", "conflict of interest: the alert is about them"),
    (P1_ALERT, "dora", "need-to-know"),
    (VETTING_ALERT, "rob", "need-to-know: a sensitive alert is for the CCU only"),
    (P1_ALERT, "aude", "role auditor does not work alerts"),
    (P1_ALERT, "gone", "the account gone is disabled"),
    (P1_ALERT, "nobody", "there is no such account"),
])
def test_assigning_to_someone_who_may_not_take_the_alert_is_refused_with_the_reason_in_the_trail(
        client_for, store, alert_id, assignee, why):
    users.add_user(store, "gone", "reviewer", seed.PASSWORD, actor="test")
    users.set_active(store, "gone", False, actor="test")
    cara = client_for("cara")
    r = cara.post(f"/alerts/{alert_id}/assign", data={"csrf": cara.csrf, "assignee": assignee})
    assert r.status_code == 400 and why in htmllib.unescape(r.text)
    assert alert_view(store, alert_id).assignee is None
    refused = trail.events(store, action="alert.refused", obj=f"alert:{alert_id}")
    assert len(refused) == 1 and refused[0]["actor"] == "cara"
    assert refused[0]["details"]["assignee"] == assignee and why in refused[0]["details"]["why"]
    assert trail.events(store, action="alert.assign", obj=f"alert:{alert_id}") == []


# -- 5. refused forms come back with the message and what was typed -------------------------------

def test_a_refused_alert_form_is_shown_again_with_the_message_and_the_typed_text(client_for, store):
    rob = client_for("rob")
    note = "Checked the register </textarea><b>twice</b>"
    r = rob.post(f"/alerts/{INTERNAL_ALERT}/status", data={"csrf": rob.csrf, "status": "bogus", "note": note})
    assert r.status_code == 400 and 'action="/alerts/55/status"' in r.text  # the alert page, not an error page
    form = re.search(r'id="error-status">(.*?)</form>', r.text, re.S).group(0)
    assert "it can move to" in form and "Checked the register &lt;/textarea&gt;&lt;b&gt;twice&lt;/b&gt;</textarea>" in form
    r = rob.post(f"/alerts/{INTERNAL_ALERT}/status", data={"csrf": rob.csrf, "status": "false_positive", "note": ""})
    assert r.status_code == 400 and "note is required" in r.text
    assert re.search(r'<option value="false_positive" selected>', r.text)
    r = rob.post(f"/alerts/{INTERNAL_ALERT}/suppress",
                 data={"csrf": rob.csrf, "reason": "Known supplier, declared", "until": "next month",
                       "scope": "rule_subject"})
    assert r.status_code == 400 and 'id="error-suppress"' in r.text and "YYYY-MM-DD" in r.text
    assert "Known supplier, declared</textarea>" in r.text and 'value="next month"' in r.text
    assert '<option value="rule_subject" selected>' in r.text
    assert alert_view(store, INTERNAL_ALERT).status == "new"
    cara = client_for("cara")
    r = cara.post(f"/alerts/{P1_ALERT}/assign", data={"csrf": cara.csrf, "assignee": "boss"})
    assert r.status_code == 400 and 'id="error-assign"' in r.text and "boss cannot be given this alert" in r.text
    # each refusal is recorded with its reason
    whys = [e["details"]["form"] for e in trail.events(store, action="alert.refused")]
    assert sorted(whys) == ["assign", "status", "status", "suppress"]


def test_a_refused_users_form_is_shown_again_with_the_typed_values_but_never_a_password(client_for, store):
    adam = client_for("adam")
    secret, other = "first secret password", "second secret password"
    r = adam.post("/admin/users", data={"csrf": adam.csrf, "name": "kim", "role": "ccu", "department": "Custody",
                                        "person_id": "P7", "password": secret, "password2": other})
    assert r.status_code == 400 and "The two passwords are not the same." in r.text and 'id="add-form"' in r.text
    assert 'name="name" required maxlength="128" value="kim"' in r.text and "<option selected>ccu</option>" in r.text
    assert 'value="Custody"' in r.text and 'value="P7"' in r.text
    assert secret not in r.text and other not in r.text
    r = adam.post("/admin/users/rob/password", data={"csrf": adam.csrf, "password": "short", "password2": "short"})
    assert r.status_code == 400 and "at least 12 characters" in r.text and "<details open>" in r.text
    r = adam.post("/admin/users/adam/disable", data={"csrf": adam.csrf})
    assert r.status_code == 400 and "You cannot disable your own account." in r.text and "Add a user" in r.text
    assert users.get_user(store, "kim") is None
    assert [e["details"]["form"] for e in trail.events(store, action="user.refused")] == ["active", "password", "add"]
    assert all(secret not in str(e) for e in trail.events(store, limit=50))


# -- 6. every denial records its true reason -----------------------------------------------------

def test_a_role_denial_records_that_the_role_is_not_allowed(client_for, store):
    rob, aude = client_for("rob"), client_for("aude")
    assert rob.get("/admin/users").status_code == 403
    assert aude.post(f"/alerts/{INTERNAL_ALERT}/status", data={"csrf": aude.csrf}).status_code == 403
    assert _denials(store, "rob") == ["role not allowed: role reviewer may not use GET /admin/users"]
    assert _denials(store, "aude") == ["role not allowed: role auditor may not use POST /alerts/{alert_id}/status"]


def test_a_missing_alert_records_no_such_object(client_for, store):
    rob = client_for("rob")
    assert rob.get("/alerts/999999").status_code == 404 and rob.get("/alerts/abc").status_code == 404
    assert rob.post("/alerts/999999/assign", data={"csrf": rob.csrf}).status_code == 404
    assert _denials(store, "rob") == ["no such object: there is no alert 999999", "no such object: 'abc' is not an "
                                      "alert number", "no such object: there is no alert 999999"]


def test_a_need_to_know_denial_records_which_rule_refused(client_for, store):
    rob, dora, aude = client_for("rob"), client_for("dora"), client_for("aude")
    assert rob.get(f"/alerts/{VETTING_ALERT}").status_code == 404
    assert aude.get(f"/alerts/{VETTING_ALERT}").status_code == 404
    assert _denials(store, "rob") == ["need-to-know: a sensitive alert is for the CCU only, rob has role reviewer"]
    assert _denials(store, "aude") == ["need-to-know: a sensitive alert is for the CCU only, aude has role auditor"]
    assert dora.get(f"/alerts/{P1_ALERT}").status_code == 404
    assert _denials(store, "dora") == ["need-to-know: the alert is about department 'Roads Policing', "
                                       "dora is scoped to 'Custody'"]


def test_a_conflict_of_interest_is_recorded_as_such_not_as_need_to_know(client_for, store):
    """rita may see internal alerts force-wide: alert 2 is hidden from her because it is about her."""
    rita, boss = client_for("rita"), client_for("boss")
    assert rita.get(f"/alerts/{P1_ALERT}").status_code == 404
    assert rita.get("/people/P1").status_code == 404
    assert _denials(store, "rita") == ["conflict of interest: a person page about rita (person P1)",
                                       "conflict of interest: the alert is about rita (person P1)"]
    r = boss.post(f"/alerts/{P1_ALERT}/status", data={"csrf": boss.csrf, "status": "in_review", "note": "x"})
    assert r.status_code == 400 and "someone you line-manage" in r.text
    assert _denials(store, "boss") == ["conflict of interest: this alert is about someone you line-manage"]
    assert trail.verify(store) is None
