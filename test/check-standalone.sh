#!/usr/bin/env bash
# Fails when a tracked file names a path outside the repository: a clone alone on a fresh
# machine must pass its own tests, so what a test reads is copied in (libs/testing/fixtures).
# Three kinds of reference are refused, one line each (file:line: why):
#   - an absolute path into a machine's workspace or a home directory (the roots this script names below);
#   - a relative path that climbs above the repository from the file's own folder
#     (`../` runs, or '..' arguments of join/resolve, more than the file's depth);
#   - a step out of the repository's root by name (`repoRoot, '..'`).
# pnpm-lock.yaml is left out (its `link:` paths are relative to each package, and pnpm checks
# them); a line that holds a `..` pattern which is not a path says "not a path" on it.
set -euo pipefail
cd "$(dirname "$0")/.."

self=test/check-standalone.sh
git ls-files -z | grep -zv -e '^pnpm-lock\.yaml$' -e "^${self}\$" | xargs -0 grep -IlZ '' | xargs -0 perl -ne '
  BEGIN { $found = 0 }
  my $file = $ARGV;
  my $depth = ($file =~ tr{/}{});
  if (!/not a path/) {
    my @why;
    push @why, "an absolute path into a workspace or home" if m{(?:^|[^\w.])/(?:work|home|Users|root)/};
    my $climb = 0;
    while (m{((?:\.\./)+)}g) { my $n = () = $1 =~ /\.\./g; $climb = $n if $n > $climb; }
    my $args = () = /(["\x27])\.\.\1/g;
    $climb = $args if $args > $climb;
    push @why, "climbs $climb folder(s) up from a file $depth deep" if $climb > $depth;
    push @why, "steps out of the repository root" if /root\w*\s*,\s*(["\x27])\.\.\1/i;
    for my $reason (@why) { print "$file:$.: $reason: $_"; $found = 1 }
  }
  close ARGV if eof;
  END { exit $found }
' || {
  echo "check-standalone: the lines above name paths outside the repository; copy what they need into it" >&2
  exit 1
}
echo "check-standalone: no tracked file names a path outside the repository"
