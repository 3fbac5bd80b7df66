# How a layer is built and locked, written once. layers/<name>/Makefile sets LAYER (the layer's
# logical id in template.yaml), HERE (its own folder) and LOCK_FLAGS_EXTRA, then includes this.
#
# The build: the wheels pinned, with their hashes, in the folder's requirements.lock for the Lambda
# runtime (python3.13, arm64), fetched by pip's --platform/--python-version, so no local python3.13
# or Docker is needed (the runtime is Amazon Linux 2023, glibc 2.34: manylinux wheels up to 2_34
# run there). Then the package, without its dev/, sdk/ and cli/ folders (the local stack, the
# client SDK and the command line), with the console's templates and static files beside its code.
# Unzipped, a function and its layers must stay under 250 MB: `make bench` reports each layer's
# size. SAM runs the folder's Makefile from a scratch copy of the folder, so the package is found
# from the Makefile's own path (HERE).
PYTHON ?= python3
UV ?= uv
PACKAGE := $(HERE)../proactive/proactive
# The lock pins every package, resolved for this platform, so pip installs it as it is (--no-deps).
# pip before 24.2 checks Requires-Python against the Python running it rather than --python-version;
# the lock was resolved for 3.13, hence --ignore-requires-python. Bytecode compiled here would be for
# this machine's Python, not the runtime's (--no-compile); so would the console scripts in bin/,
# which nothing runs; numpy's test suites are never imported.
PIP_INSTALL := $(PYTHON) -m pip install --quiet --disable-pip-version-check --no-compile \
	--require-hashes --no-deps --ignore-requires-python --only-binary=:all: \
	--platform manylinux_2_34_aarch64 --platform manylinux_2_28_aarch64 --platform manylinux2014_aarch64 \
	--implementation cp --python-version 3.13

# uv, where the repository has made it (`make` does, in .venv-uv), installs the same lock in a
# second where pip takes a quarter of a minute; its --python-platform takes manylinux wheels up to
# 2_34, and it checks Requires-Python against --python-version.
REPO_UV := $(wildcard $(HERE)../../.venv-uv/bin/uv)
ifneq ($(REPO_UV),)
INSTALL := $(REPO_UV) pip install --quiet --no-compile --require-hashes --no-deps --only-binary=:all: \
	--python-platform aarch64-manylinux_2_34 --python-version 3.13
else
INSTALL := $(PIP_INSTALL)
endif

.PHONY: build-$(LAYER) lock

build-$(LAYER):
	$(INSTALL) --target "$(ARTIFACTS_DIR)/python" -r "$(HERE)requirements.lock"
	cd "$(ARTIFACTS_DIR)/python" && rm -rf .lock bin numpy/*/tests numpy/tests
	mkdir -p "$(ARTIFACTS_DIR)/python/proactive"
	cd "$(PACKAGE)" && find . \( -path ./dev -o -path ./sdk -o -path ./cli \) -prune -o \
		\( -name '*.py' -o -path './console/templates/*' -o -path './console/static/*' \) -type f \
		-exec cp --parents {} "$(ARTIFACTS_DIR)/python/proactive/" \;

# The top-level `make lock` runs this with its pinned uv (LOCK_FLAGS=--upgrade with UPGRADE=1).
lock:
	cd "$(HERE)" && $(UV) pip compile $(LOCK_FLAGS) --quiet --generate-hashes --custom-compile-command 'make lock' \
		--python-version 3.13 --python-platform aarch64-manylinux_2_34 $(LOCK_FLAGS_EXTRA) \
		requirements.in -o requirements.lock
