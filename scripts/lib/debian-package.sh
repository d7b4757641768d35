# Sourced by the check scripts that need a Debian package's tool (promtool, docker-compose):
#   install_debian_package PACKAGE
# installs PACKAGE with apt-get, as root or with password-less sudo, running `apt-get update` first
# only when the install fails without it; otherwise prints the command to run and exits 1.
# The caller defines say() for its messages.

install_debian_package() {
  local package=$1 runner=()
  if ((EUID != 0)); then
    if sudo -n true 2>/dev/null; then
      runner=(sudo -n)
    else
      say "$package is missing; install it with: sudo apt-get install -y $package"
      exit 1
    fi
  fi
  say "installing the Debian package $package"
  if ! "${runner[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$package" >&2; then
    "${runner[@]}" apt-get update >&2
    "${runner[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$package" >&2
  fi
}
