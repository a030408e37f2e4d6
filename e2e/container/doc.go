// Package container builds runwire's image (e2e/scripts/build-image.sh) and runs it under
// podman for the end-to-end suite's container specs, and makes the Docker-like seccomp profile
// those specs run it under.
package container
