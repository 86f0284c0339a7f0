# Two commands for a new user on Debian 12: `make demo` and `make test`. Both install what they need.

PYTHON ?= /usr/bin/python3
VENV := .venv
PY := $(VENV)/bin/python
# The core, every built-in plugin and the example third-party plugin: each is its own distribution.
PLUGINS := $(patsubst %/setup.cfg,%,$(wildcard plugins/*/setup.cfg))
DISTRIBUTIONS := . $(PLUGINS) examples/hello-plugin

# The real peers the lab and the tests start (see docs/lab.md); python3-venv for the venv itself.
DEBIAN_PACKAGES := python3-venv \
	kamailio kamailio-websocket-modules kamailio-presence-modules kamailio-sqlite-modules \
	kamailio-tls-modules kamailio-utils-modules kamailio-extra-modules \
	baresip-core baresip-ffmpeg sip-tester rtpengine-daemon coturn chromium tshark sqlite3 iproute2 nftables

.PHONY: demo test system-deps python-deps clean

demo: system-deps python-deps
	$(VENV)/bin/webims demo

test: system-deps python-deps
	$(PY) -m pytest

system-deps:
	@scripts/install-system-deps $(DEBIAN_PACKAGES)

python-deps: $(VENV)/.installed

$(VENV)/.installed: setup.cfg plugins/*/setup.cfg examples/hello-plugin/setup.cfg
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]' $(foreach dist,$(filter-out .,$(DISTRIBUTIONS)),-e $(dist))
	touch $@

clean:
	rm -rf $(VENV) test-artifacts
