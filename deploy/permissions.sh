#!/usr/bin/env bash
# Permissions for a class server (deploy/README.md): every user may run the course's .venv and read the
# library, lectures and released assignments; only the instructor may read the assignments' sources
# (solutions, hidden tests), the rubrics and anything graded.
#
#   sudo bash deploy/permissions.sh /opt/rnn-course [INSTRUCTOR]
#
# Safe to run again (after `git pull`, say). tests/test_deploy.py checks what it produces.
set -euo pipefail
repo=$(cd "${1:?usage: permissions.sh REPO [INSTRUCTOR]}" && pwd)
owner=${2:-root}
a="$repo/assignments"
chmod -R u+rwX,go+rX,go-w "$repo"
for secret in "$a/source" "$a/instructor_notes" "$a/gradebook.db" "$a/submitted" "$a/autograded" "$a/feedback" \
              "$a/.nbgrader.log" "$repo/.git"; do
    if [ -e "$secret" ]; then
        chown -R "$owner" "$secret"
        chmod -R go-rwx "$secret"
    fi
done
echo "permissions set: $a/source and the graded work are readable by $owner only"
