/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Template (nat_fam.h): the port allocator's endpoint mappings, one text
 * for both families, included once per family with FAM_SFX defined:
 * IPv4's copy in port_alloc.h, IPv6's in flow6.h. No include guard: each
 * inclusion is another family's copy. Before it come the family's flow
 * lookups (FAM(flow, _idle), FAM(key, _eq), FAM(flow, _timeout_ns),
 * FAM(flow, _set_nat), FAM(flow, _claim), the tables), its request
 * (FAM_REQ), FAM(port_forwarded, ) and FAM(port_shadowed, ).
 *
 * Endpoint mappings (RFC 4787): an internal endpoint that gets a port of
 * ours (--snat rules, masquerade) keeps that one external port for every
 * destination while any of its flows lives. The owner map says who holds an
 * external port; a port is free when nobody alive holds it, no rule forwards
 * it, and no local socket uses it. A mapping lives as long as its witness
 * flow (struct xfwd_mapping), so expiry stays lazy here too, and a mapping
 * whose flows were evicted or flushed frees its port at once.
 *
 * How long a mapping lives: as long as its witness, a flow entry of its
 * flows. xfwd_mapping_live asks the witness; mapping_refresh, as the flows
 * pass, keeps the one to expire last the witness. A mapping whose flows
 * ended, were evicted or flushed is dead at once, its port free, with
 * nothing to clean up.
 *
 * Per-host port cap (RFC 6888 REQ-4, masq --max-ports-per-host): a LAN
 * host gets a new mapping only while it holds fewer live ones than its
 * prefix allows, so one host cannot take every port. Mappings end lazily
 * and unseen (no deletion callback), so xfwd_hosts counts up as mappings
 * are made and is corrected by a recount: one walk of xfwd_mappings that
 * counts every host's live ones. A recount runs when a host is at its cap
 * by the count, at most once a second for all hosts together (the walk
 * costs the same for one host as for all): a hostile host at its cap costs
 * one walk a second, however many addresses it uses. Each family counts
 * its own hosts (xfwd_hosts, xfwd_hosts6) with its own recounts.
 *
 * Choosing the port (reply_alloc): the endpoint's live mapping's, else its
 * last one's, its own (port preservation), or random ones of the same
 * parity in the range, each free of rules, live mappings and local sockets.
 */

/* ------------------------------------------------------------ mappings */

static __always_inline int FAM(endpoint, _eq)(const FAM_ENDPOINT *a, const FAM_ENDPOINT *b)
{
	return FAM_ADDR_EQ(a->addr, b->addr) && a->port == b->port && a->proto == b->proto;
}

/*
 * Is m, the mapping of internal endpoint in, alive: its witness flow live
 * and translating between in and m's external endpoint, and that endpoint
 * still in's? Out of line: it looks the witness up in the flow tables.
 * NULLs answer 0.
 */
__attribute__((noinline)) int FAM(xfwd_mapping_live, )(const FAM_ENDPOINT *in,
							 const FAM_MAPPING *m,
							 const struct xfwd_config *cfg, __u64 now);

/* The internal endpoint's mapping to ext_addr, alive or not (its old port
 * is the first one tried for a new mapping). */
static __always_inline FAM_MAPPING *FAM(mapping, _get)(const FAM_ENDPOINT *in, FAM_ADDR ext_addr)
{
	FAM_MAPPING *m = bpf_map_lookup_elem(&FAM_MAPPINGS, in);

	return m && FAM_ADDR_EQ(m->ext_addr, ext_addr) ? m : NULL;
}

/* May internal endpoint `in` take external endpoint `ext`? */
static __always_inline int FAM(port, _free)(const struct xfwd_config *cfg, const FAM_ENDPOINT *ext,
					    const FAM_ENDPOINT *in, __u64 now)
{
	FAM_ENDPOINT *o;
	FAM_MAPPING *m;

	if (FAM(port_forwarded, )(cfg, ext))	/* a forwarded public port */
		return 0;
	o = bpf_map_lookup_elem(&FAM_OWNERS, ext);
	if (!o || FAM(endpoint, _eq)(o, in))
		return 1;
	m = bpf_map_lookup_elem(&FAM_MAPPINGS, o);
	return !(m && m->ext_port == ext->port && FAM_ADDR_EQ(m->ext_addr, ext->addr) &&
		 FAM(xfwd_mapping_live, )(o, m, cfg, now));
}

static __always_inline void FAM(mapping, _add_remote)(FAM_MAPPING *m, FAM_ADDR remote)
{
	__u32 i;

#pragma unroll
	for (i = 0; i < XFWD_MASQ_REMOTES; i++)
		if (FAM_ADDR_EQ(m->remotes[i], remote))
			return;
	i = m->next_remote % XFWD_MASQ_REMOTES;
	FAM_ADDR_SET(m->remotes[i], remote);
	m->next_remote = (__u8)(i + 1);
}

/* What a new mapping starts from (written in place: no 56 bytes of stack
 * below xfwd_flow_create). */
static const FAM_MAPPING FAM(mapping, _zero);

/*
 * Record that `in` holds `ext`, having sent to `remote`, as long as flow
 * entry `witness` lives (until `expires` at most). reused: its live
 * mapping, which the new flow keeps alive from now on if it outlives the
 * witness it has; else a new mapping (a dead one's remotes forgotten).
 */
static __always_inline void FAM(mapping, _set)(const FAM_ENDPOINT *in, const FAM_ENDPOINT *ext,
					       __u8 filtering, FAM_ADDR remote, __u64 expires,
					       const FAM_KEY *witness, __u8 flags, int reused)
{
	FAM_MAPPING *m = bpf_map_lookup_elem(&FAM_MAPPINGS, in);

	if (reused && m && FAM_ADDR_EQ(m->ext_addr, ext->addr) && m->ext_port == ext->port) {
		if ((__s64)(expires - m->expires_ns) < 0)
			goto remote;
	} else {
		if (!m) {
			bpf_map_update_elem(&FAM_MAPPINGS, in, &FAM(mapping, _zero), BPF_ANY);
			m = bpf_map_lookup_elem(&FAM_MAPPINGS, in);
			if (!m)
				goto owner;
		}
		FAM_ADDR_SET(m->ext_addr, ext->addr);
		m->ext_port = ext->port;
		m->proto = ext->proto;
		m->filtering = filtering;
		m->flags = flags;
		m->next_remote = 0;
		__builtin_memset(m->remotes, 0, sizeof(m->remotes));
	}
	m->witness = *witness;
	m->expires_ns = expires;
remote:
	if (!FAM_ADDR_ZERO(remote))
		FAM(mapping, _add_remote)(m, remote);
owner:
	bpf_map_update_elem(&FAM_OWNERS, ext, in, BPF_ANY);
}

/* Would the mapping let `remote` in unsolicited (RFC 4787 filtering)? */
static __always_inline int FAM(mapping, _admits)(const FAM_MAPPING *m, FAM_ADDR remote)
{
	if (m->filtering == XFWD_FILTER_EIF)
		return 1;
	if (m->filtering != XFWD_FILTER_ADF)
		return 0;	/* APDF: only the exact flows it opened */
	if (FAM_ADDR_ZERO(remote))
		return 0;	/* the unspecified address is no address it sent to,
				 * only an empty slot */
#pragma unroll
	for (int i = 0; i < XFWD_MASQ_REMOTES; i++)
		if (FAM_ADDR_EQ(m->remotes[i], remote))
			return 1;
	return 0;
}

/* ------------------------------------------------------------ liveness */

/* The entry at m's witness key, if used in time. Its twin is not asked: an
 * entry that spoke since refreshed the mapping, and so is the witness if
 * it outlives it. Tables looked in directly, with nothing on the stack:
 * this runs below xfwd_flow_create, whose stack and the XDP program's fill
 * the 512 bytes. */
static __always_inline FAM_FLOW *FAM(witness, _lookup)(const FAM_MAPPING *m,
						       const struct xfwd_config *cfg, __u64 now)
{
	FAM_FLOW *f = bpf_map_lookup_elem(&FAM_FLOWS, &m->witness);

	if (f && !FAM(flow, _idle)(cfg, f, now))
		return f;
	f = bpf_map_lookup_elem(&FAM_PENDING, &m->witness);
	return f && !FAM(flow, _idle)(cfg, f, now) ? f : NULL;
}

/* See xfwd_mapping_live's declaration above. */
__attribute__((noinline)) int FAM(xfwd_mapping_live, )(const FAM_ENDPOINT *in,
							 const FAM_MAPPING *m,
							 const struct xfwd_config *cfg, __u64 now)
{
	const FAM_ENDPOINT *o;
	FAM_FLOW *f;

	if (!in || !m || !cfg || (__s64)(m->expires_ns - now) <= 0 || m->proto != in->proto)
		return 0;
	/* m's head is its external endpoint: the owner key. */
	o = bpf_map_lookup_elem(&FAM_OWNERS, m);
	if (!o || !FAM(endpoint, _eq)(o, in))
		return 0;
	f = FAM(witness, _lookup)(m, cfg, now);
	if (!f || !(f->flags & XFWD_FLOW_MAPPED))
		return 0;
	if (f->map_src)
		return FAM_ADDR_EQ(m->witness.saddr, in->addr) && m->witness.sport == in->port &&
		       FAM_ADDR_EQ(f->new_saddr, m->ext_addr) && f->new_sport == m->ext_port;
	return FAM_ADDR_EQ(m->witness.daddr, m->ext_addr) && m->witness.dport == m->ext_port &&
	       FAM_ADDR_EQ(f->new_daddr, in->addr) && f->new_dport == in->port;
}

/*
 * Keep a flow's endpoint mapping alive as long as the flow: on state changes
 * and about once a second otherwise. The flow becomes the mapping's witness
 * if it is already, if it will expire later than the witness, or if the
 * witness is gone. Not a mapping this endpoint had before (the flow keeps
 * its port, the endpoint has another now): that one is left alone.
 */
__attribute__((noinline)) int FAM(xfwd_mapping_refresh, )(const FAM_FLOW *f, const FAM_KEY *key,
							    const struct xfwd_config *cfg,
							    __u64 now)
{
	FAM_ENDPOINT in = {}, ext = {};
	FAM_MAPPING *m;
	__u64 expires;

	if (!f || !key || !cfg)
		return 0;
	in.proto = key->proto;
	if (f->map_src) {
		FAM_ADDR_SET(in.addr, key->saddr);
		in.port = key->sport;
		FAM_ADDR_SET(ext.addr, f->new_saddr);
		ext.port = f->new_sport;
	} else {
		FAM_ADDR_SET(in.addr, f->new_daddr);
		in.port = f->new_dport;
		FAM_ADDR_SET(ext.addr, key->daddr);
		ext.port = key->dport;
	}
	m = bpf_map_lookup_elem(&FAM_MAPPINGS, &in);
	if (!m || !FAM_ADDR_EQ(m->ext_addr, ext.addr) || m->ext_port != ext.port)
		return 0;
	expires = now + FAM(flow, _timeout_ns)(cfg, f);
	if (FAM(key, _eq)(&m->witness, key) || (__s64)(expires - m->expires_ns) >= 0 ||
	    !FAM(xfwd_mapping_live, )(&in, m, cfg, now)) {
		if (!FAM(key, _eq)(&m->witness, key))
			m->witness = *key;
		m->expires_ns = expires;
	}
	return 0;
}

static __always_inline void FAM(mapping, _refresh)(FAM_FLOW *f, const FAM_PKT *p,
						   const struct xfwd_config *cfg, __u64 now,
						   int force)
{
	__u32 tick = (__u32)(now >> 30);

	if (!(f->flags & XFWD_FLOW_MAPPED) || (f->refresh_s == tick && !force))
		return;
	f->refresh_s = tick;
	FAM(xfwd_mapping_refresh, )(f, &p->key, cfg, now);
}

/* ------------------------------------------------------ per-host cap */

/* Live mappings of host addr as of recount gen (0 if it held none then). */
static __always_inline __u32 FAM(host, _count)(FAM_ADDR_ARG_T addr, __u32 gen)
{
	struct xfwd_host *h = bpf_map_lookup_elem(&FAM_HOSTS, FAM_ADDR_REF(addr));

	return h && (__s32)(h->gen - gen) >= 0 ? h->count : 0;
}

/* A recount's visit of one mapping. */
static long FAM(host, _count_one)(void *map, const FAM_ENDPOINT *key, FAM_MAPPING *m,
				  struct host_scan *s)
{
	struct xfwd_host fresh = { .gen = s->gen }, *h;
	FAM_ENDPOINT in = *key;
	struct xfwd_config *cfg;

	if (!(m->flags & XFWD_MAPPING_HOST) || (__s64)(m->expires_ns - s->now) <= 0)
		return 0;
	cfg = config_get();
	if (!cfg || !FAM(xfwd_mapping_live, )(&in, m, cfg, s->now))
		return 0;
	h = bpf_map_lookup_elem(&FAM_HOSTS, FAM_ADDR_REF(in.addr));
	if (!h) {
		bpf_map_update_elem(&FAM_HOSTS, FAM_ADDR_REF(in.addr), &fresh, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&FAM_HOSTS, FAM_ADDR_REF(in.addr));
		if (!h)
			return 0;
	}
	if (h->gen != s->gen) {
		h->gen = s->gen;
		h->count = 0;
	}
	__sync_fetch_and_add(&h->count, 1);
	return 0;
}

/*
 * May host addr make another mapping under cap? Two CPUs may both pass at
 * cap - 1 (one mapping over); a mapping made on one CPU while the other
 * recounts may be missed by that recount (one under, until the next).
 */
__attribute__((noinline)) int FAM(xfwd_host_admit, )(FAM_ADDR_ARG_T addr, __u32 cap, __u64 now)
{
	struct host_scan s = { .now = now };
	__u64 last = FAM_HOST_SCAN;
	__u32 gen = FAM_HOST_GEN;

	if (!FAM_ADDR_ARG_OK(addr))
		return 0;
	if (gen && FAM(host, _count)(addr, gen) < cap)
		return 1;
	/* At the cap by a count that errs high, or never counted: recount,
	 * unless one ran this second or another CPU is starting one. */
	if ((gen && (__s64)(now - last) < (__s64)XFWD_HOST_RECOUNT_NS) ||
	    __sync_val_compare_and_swap(&FAM_HOST_SCAN, last, now) != last)
		return FAM(host, _count)(addr, gen) < cap;
	s.gen = gen + 1 ? gen + 1 : 1;
	bpf_for_each_map_elem(&FAM_MAPPINGS, FAM(host, _count_one), &s, 0);
	FAM_HOST_GEN = s.gen;
	return FAM(host, _count)(addr, s.gen) < cap;
}

/* A new mapping of host addr. */
static __always_inline void FAM(host, _add)(FAM_ADDR addr)
{
	struct xfwd_host fresh = { .count = 1, .gen = FAM_HOST_GEN }, *h;

	h = bpf_map_lookup_elem(&FAM_HOSTS, FAM_ADDR_REF(addr));
	if (!h) {
		if (!bpf_map_update_elem(&FAM_HOSTS, FAM_ADDR_REF(addr), &fresh, BPF_NOEXIST))
			return;
		h = bpf_map_lookup_elem(&FAM_HOSTS, FAM_ADDR_REF(addr));
		if (!h)
			return;
	}
	if ((__s32)(h->gen - fresh.gen) < 0) {	/* held none at the last recount */
		h->gen = fresh.gen;
		h->count = 0;
	}
	__sync_fetch_and_add(&h->count, 1);
}

/* --------------------------------------------------- choosing the port */

/* Try port (host order) as the reply entry's destination port, the
 * external endpoint rq->saddr:port: free of rules, live mappings and this
 * host's sockets, then claimed. 0 if it is the connection's now. */
static __always_inline int FAM(reply, _try)(void *ctx, FAM_KEY *rkey, FAM_FLOW *reply,
					    const FAM_KEY *okey, const FAM_REQ *rq,
					    const struct xfwd_config *cfg, __u64 now, __u16 port)
{
	FAM_ENDPOINT ext;

	FAM_ADDR_SET(ext.addr, rq->saddr);
	ext.port = bpf_htons(port);
	ext.proto = okey->proto;
	ext.pad = 0;
	if (!FAM(port, _free)(cfg, &ext, &rq->internal, now))
		return -1;
	rkey->dport = ext.port;
	if (rkey->proto != IPPROTO_ICMP && FAM(port_shadowed, )(ctx, rkey))
		return -1;
	FAM(flow, _set_nat)(reply, rkey, okey->daddr, okey->saddr, okey->dport, okey->sport);
	return FAM(flow, _claim)(rkey, reply, cfg, now, NULL);
}

/*
 * Claim the reply key of a connection whose source port is ours to choose
 * (rq->alloc_port): the endpoint's live mapping if it has one
 * (endpoint-independent mapping, RFC 4787 REQ-1), else (within the host's
 * cap) its last mapping's port, its own port (port preservation), or random
 * ones of the same parity (REQ-4) in the range. 0 (a live mapping's port,
 * or no mapping), CLAIM_NEW (a new mapping's), or a failure.
 */
static __always_inline int FAM(reply, _alloc)(void *ctx, FAM_KEY *rkey, FAM_FLOW *reply,
					      const FAM_KEY *okey, const FAM_REQ *rq,
					      const struct xfwd_config *cfg, __u64 now)
{
	__u32 span = rq->port_max - rq->port_min + 1, i;
	__u16 want = bpf_ntohs(rq->sport), port, old = 0;
	FAM_MAPPING *m;
	int live = 0;

	m = rq->no_mapping ? NULL : FAM(mapping, _get)(&rq->internal, rq->saddr);
	if (m) {
		old = bpf_ntohs(m->ext_port);
		live = FAM(xfwd_mapping_live, )(&rq->internal, m, cfg, now);
	}
	/* A live mapping is the endpoint's one port (RFC 4787 REQ-1): if its
	 * tuple to this destination is taken, the connection cannot start. */
	if (live)
		return FAM(reply, _try)(ctx, rkey, reply, okey, rq, cfg, now, old) ? CLAIM_FAILED : 0;
	/* A new mapping: not beyond the host's cap. */
	if (rq->host_full && !rq->no_mapping)
		return CLAIM_HOST_CAP;
	/* Its mapping ended (its flows gone) or lost its port (taken since):
	 * its old port if it is free again, then port preservation, then
	 * random ones. */
	if (old && old >= rq->port_min && old <= rq->port_max &&
	    !FAM(reply, _try)(ctx, rkey, reply, okey, rq, cfg, now, old))
		return CLAIM_NEW;
	/* Port preservation inside the range only: --ports is a promise. */
	if (!rq->no_mapping && want >= rq->port_min && want <= rq->port_max &&
	    !FAM(reply, _try)(ctx, rkey, reply, okey, rq, cfg, now, want))
		return CLAIM_NEW;
	for (i = 0; i < XFWD_SNAT_PROBES; i++) {
		port = port_probe(want, rq->port_min, rq->port_max, span);
		if (!FAM(reply, _try)(ctx, rkey, reply, okey, rq, cfg, now, port))
			return CLAIM_NEW;
	}
	return CLAIM_FAILED;
}

/*
 * After both entries of a connection whose port was chosen (alloc_port,
 * not no_mapping) are in: record its mapping (a new one, or its live one
 * kept alive by this flow too) and, for a new mapping of a masqueraded
 * host, count it against the host's cap. claim: what reply_alloc
 * answered; e the original entry, okey its key, rkey the reply entry's.
 */
static __always_inline void FAM(mapping, _made)(const FAM_REQ *rq, const FAM_KEY *okey,
						const FAM_KEY *rkey, const FAM_FLOW *e,
						const struct xfwd_config *cfg, __u64 now, int claim)
{
	FAM_ENDPOINT ext;

	FAM_ADDR_SET(ext.addr, rkey->daddr);
	ext.port = rkey->dport;
	ext.proto = rkey->proto;
	ext.pad = 0;
	FAM(mapping, _set)(&rq->internal, &ext, rq->filtering, okey->daddr,
			   now + FAM(flow, _timeout_ns)(cfg, e), okey,
			   rq->alloc_port == ALLOC_HOST ? XFWD_MAPPING_HOST : 0, claim != CLAIM_NEW);
	if (claim == CLAIM_NEW && rq->alloc_port == ALLOC_HOST)
		FAM(host, _add)(rq->internal.addr);
}
