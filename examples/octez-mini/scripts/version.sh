# Sourced by CI jobs and scripts, like Octez's scripts/version.sh: the one place
# that says which version this is and which dependency image it is built with.

export mini_version=0.3.0

# The tag of the image the jobs run in. It MUST be the same as the variable
# build_deps_image_version in .gitlab-ci.yml: build_x86_64 checks it, as
# Octez's build job checks opam_repository_tag.
export deps_image_version=latest
