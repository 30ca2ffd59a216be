# Sourced by CI jobs and scripts, like Octez's scripts/version.sh: the one place
# that says which version this is and which dependency image it is built with.

export mini_version=0.4.0

# The tag suffix of the images the jobs run in (tezos-ci-local/ocaml:amd64 and
# :arm64, made by tezos-ci-local's scripts/setup.sh). It MUST be the same as
# build_deps_image_version in .gitlab-ci.yml: build_x86_64 checks it, as
# Octez's build job checks opam_repository_tag.
export deps_image_version=ocaml-4.13
