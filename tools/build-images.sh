#!/usr/bin/env bash
# The images docker-compose.local.yml runs, built on this machine from the grading environment's Debian (the
# sandbox image, which `beras-grader image build` makes) with no registry: beras-grader:latest (the service,
# installed offline from build/wheelhouse), beras-redis:7 and beras-postgres:15 (Debian's packages, fetched
# from Debian's mirror). Docker's cache makes a second run near-instant; the wheelhouse is refilled only
# when pyproject.toml's dependencies change. Run from the repository root; VENV_BIN names the project's venv.
set -euo pipefail
venv_bin="${VENV_BIN:-.venv/bin}"
base="$("$venv_bin/beras-grader" image tag)"
if ! docker image inspect "$base" >/dev/null 2>&1; then
  echo "error: the sandbox image $base is not in Docker; build it first: beras-grader image build --docker yes" >&2
  exit 1
fi
wheels=build/wheelhouse
requirements="$("$venv_bin/python" -c 'import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))
print("\n".join([*project["project"]["dependencies"], *project["build-system"]["requires"]]))')"
if [ ! -f "$wheels/requirements.txt" ] || [ "$(cat "$wheels/requirements.txt")" != "$requirements" ]; then
  echo "filling $wheels with the dependencies' wheels ..."
  rm -rf "$wheels"
  mkdir -p "$wheels"
  printf '%s\n' "$requirements" > "$wheels/requirements.in"
  # The image's python3 is Debian's 3.11.2: redis needs async-timeout below 3.11.3, which the host's
  # newer Python leaves out of the resolution (pip evaluates markers against the running interpreter).
  "$venv_bin/python" -m pip download --quiet --disable-pip-version-check --dest "$wheels" --only-binary=:all: \
    -r "$wheels/requirements.in" pip "async-timeout>=4.0.3" 2> >(grep -v "is ignored" >&2)
  # Written last: a wheelhouse without it is an unfinished one, filled again next time.
  mv "$wheels/requirements.in" "$wheels/requirements.txt"
fi
build() {  # build TAG CONTEXT NETWORK [docker build arguments]
  local tag="$1" started=$SECONDS
  # The legacy builder's deprecation notice is noise here (Debian's docker.io has no buildx).
  docker build --quiet --force-rm --network "$3" --build-arg "BASE=$base" -t "$tag" "${@:4}" "$2" \
    2> >(grep -v -e DEPRECATED -e "legacy builder" -e buildx -e '^ *$' >&2) >/dev/null
  echo "built $tag in $((SECONDS - started)) s"
}
build beras-redis:7 worker/images/redis host
build beras-postgres:15 worker/images/postgres host
build beras-grader:latest . none -f worker/images/service/Dockerfile
