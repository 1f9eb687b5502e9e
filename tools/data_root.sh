# Sourced by the tools/ scripts: finds the data sets as frugal does ($FRUGAL_DATA, then
# ../shared/data beside the working directory or beside the checkout, else the bundled
# fixtures), exports FRUGAL_DATA, and sets `data` and `fixtures` (true/false).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=""
for candidate in "${FRUGAL_DATA:-}" "$PWD/../shared/data" "$root/../shared/data"; do
  if [ -n "$candidate" ] && [ -d "$candidate/cifar10" ]; then data=$(cd "$candidate" && pwd); break; fi
done
fixtures=false
if [ -z "$data" ]; then
  data="$root/fixtures/data"
  fixtures=true
  echo "shared data not found (../shared/data or \$FRUGAL_DATA): using the bundled fixtures" >&2
fi
export FRUGAL_DATA="$data"
