# OneHA — see README.md. Every target works on a fresh Debian 12 with Go 1.26.
GO       ?= go
PKGS     ?= ./...
TESTTIME ?= 15m
# Packages whose tests also run under the race detector. oned's process
# zones run separate, uninstrumented binaries, so for oned the race step
# runs the tests that exercise its code inside the test process: a whole
# 3-server zone (TestInProcessZoneIsRaceFree: oned, zone, raftlog, mux,
# zoneca, hooks, sqlfsm together) and the in-process unit tests.
RACE_PKGS ?= ./federation/ ./sqlfsm/ ./sqlcheck/ ./raftlog/ ./zone/ ./hooks/ ./mux/ ./zoneca/ ./xmlrpc/
ONED_RACE_RUN ?= ^Test(InProcessZoneIsRaceFree|Guard|WarnIfReadable|ParseConfig|ExampleConfigsParse|TLSPeerIdentity|Authorizer|UsedResyncTokens|ClientSQLCannot|Reserved)

.PHONY: all build bin install lab lab-down lab-fed lab-fed-down chaos bench-report test test-race test-short bench lint fuzz deps demo clean

all: build

build:
	$(GO) build ./...

# Installs what is missing (as root), then runs every test: MariaDB tests
# start their own mariadbd instances in temp dirs.
test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout $(TESTTIME) $(PKGS)
	$(MAKE) test-race

# The core packages again under the race detector (concurrent Exec, apply,
# membership, hooks, the mux and TLS, and a whole zone in one process).
test-race:
	$(GO) test -race -count=1 -timeout $(TESTTIME) $(RACE_PKGS)
	$(GO) test -race -count=1 -timeout $(TESTTIME) -run '$(ONED_RACE_RUN)' ./oned/

test-short:
	$(GO) test -count=1 -short $(PKGS)

deps:
	@./scripts/install-deps.sh

# Benchmarks: the replicated-write benchmark (3 servers on MariaDB over TCP
# against direct MariaDB), writes through the API side by side (zone, solo,
# direct MariaDB; ops/s, latency, CPU and system calls per write; table,
# results/sidebyside.md), the leader's write stages at 1 and 64 writers
# (table, results/stages.md, leader CPU profiles results/leader-cpu-*.pprof),
# a 3-server zone's term under 8 CPU burners for 60 s (no election allowed),
# the Raft log-store comparison, and the failover time through the
# floating IP in the namespace lab (root; FAST_FAILOVER on and off).
bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 3s -timeout 30m ./raftlog/ ./internal/bench/
	$(GO) test -run '^$$' -bench 'Failover|HungLeader|Switchover|GracefulStop' -benchtime 1x -timeout 30m ./deploy/lab/

# A 3-host zone in network namespaces (root) to try by hand; lab-down removes it.
lab:
	@./scripts/lab.sh up

lab-down:
	@./scripts/lab.sh down

# Two 3-host zones federated (master zone 0, a slave zone created on it),
# in network namespaces (root); lab-fed-down removes them.
lab-fed:
	@./scripts/lab-fed.sh up

lab-fed-down:
	@./scripts/lab-fed.sh down

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

# Each fuzz target briefly (FUZZTIME each); seed corpora live in testdata/fuzz
# and run as regression inputs in every `make test`.
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./sqlfsm/
	$(GO) test -run '^$$' -fuzz '^FuzzLex$$' -fuzztime $(FUZZTIME) ./sqlcheck/
	$(GO) test -run '^$$' -fuzz '^FuzzCheckWrite$$' -fuzztime $(FUZZTIME) ./sqlcheck/
	$(GO) test -run '^$$' -fuzz '^FuzzCheckRead$$' -fuzztime $(FUZZTIME) ./sqlcheck/
	$(GO) test -run '^$$' -fuzz '^FuzzCheckCache$$' -fuzztime $(FUZZTIME) ./sqlfsm/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeCall$$' -fuzztime $(FUZZTIME) ./xmlrpc/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeResponse$$' -fuzztime $(FUZZTIME) ./xmlrpc/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeCallMatchesReference$$' -fuzztime $(FUZZTIME) ./xmlrpc/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeResponseMatchesReference$$' -fuzztime $(FUZZTIME) ./xmlrpc/
	$(GO) test -run '^$$' -fuzz '^FuzzGeneratedMatchesReference$$' -fuzztime $(FUZZTIME) ./xmlrpc/
	$(GO) test -run '^$$' -fuzz '^FuzzSplit$$' -fuzztime $(FUZZTIME) ./backup/

# Builds the binaries and runs a 3-server zone on 127.0.0.1 (SQLite, temp
# dir) through the seed's procedure and a leader failure; stops everything.
demo: bin
	@./scripts/demo.sh

bin:
	$(GO) build -o bin/ ./cmd/...

# Installs the binaries, the systemd unit, a config skeleton (kept if one
# exists), the vip.sh-compatible hook and the recommended MariaDB settings.
PREFIX  ?= /usr
DESTDIR ?=
install: bin
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/lib/systemd/system $(DESTDIR)/etc/one \
		$(DESTDIR)/var/lib/one/remotes/hooks/raft $(DESTDIR)$(PREFIX)/share/doc/oneha/examples
	install -m 0755 bin/oned bin/onezone bin/onesql bin/onedb $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 deploy/oned.service $(DESTDIR)/lib/systemd/system/oned.service
	test -e $(DESTDIR)/etc/one/oned.yaml || install -m 0640 $$(getent group oneadmin >/dev/null && echo -g oneadmin) deploy/examples/zone-3/host-0.yaml $(DESTDIR)/etc/one/oned.yaml
	install -m 0755 deploy/hooks/vip.sh $(DESTDIR)/var/lib/one/remotes/hooks/raft/vip.sh
	cp -r deploy/examples/. $(DESTDIR)$(PREFIX)/share/doc/oneha/examples/
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/oneha/README.md

clean:
	$(GO) clean -testcache

# Benchmark report (phony target, like those in .PHONY above): write
# throughput and p50/p99 at 1/16/64/256 writers for 3 and 5 servers on SQLite
# and MariaDB against a solo oned through the same XML-RPC client path, the
# failover-time distribution (deploy/lab, root), catch-up of a new server on
# a ONEHA_CATCHUP_MB (default 1024) database against mariadb-dump | mariadb,
# and oned's RSS under load. Writes results/REPORT.md and PNG plots
# (ONEHA_RESULTS overrides the folder; ONEHA_BENCH_SECONDS the cell length).
bench-report: deps
	ONEHA_BENCH_REPORT=1 ONEHA_RESULTS=$${ONEHA_RESULTS:-$(CURDIR)/results} $(GO) test -count=1 -v -run '^TestBenchReport$$' -timeout 60m ./internal/report/

# The long nemesis suite (root): 3 servers with a MariaDB per host and 5 on
# SQLite, every fault type, porcupine-checked; the short form runs in make test.
chaos: deps
	ONEHA_CHAOS_LONG=1 $(GO) test -count=1 -run TestChaosLong -timeout 60m -v ./internal/chaos/
