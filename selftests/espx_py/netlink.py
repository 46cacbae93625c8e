# SPDX-License-Identifier: GPL-2.0
"""The netlink client: message and attribute helpers (xfrm_nl.py's too), the
espx generic netlink family (read-only queries, SA_SET), and the counters of a
netns (procfs + espx)."""
import os
import socket
import struct

NETLINK_GENERIC = 16
GENL_ID_CTRL = 0x10
CLONE_NEWNET = 0x40000000
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLM_F_CAPPED = 0x100
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLMSGERR_ATTR_MSG = 1
SOL_NETLINK = 270
NETLINK_EXT_ACK = 11
NLA_F_NESTED = 0x8000

# espx generic netlink (include/uapi/linux/espx.h)
ESPX_CMD_SA_SET, ESPX_CMD_SA_GET, ESPX_CMD_INFO_GET, ESPX_CMD_CTR_GET = 1, 2, 4, 5
ESPX_A_SA_ID, ESPX_A_STATS, ESPX_A_INFO, ESPX_A_COUNTERS, ESPX_A_CTR = 1, 4, 6, 7, 8
ESPX_A_DIET, ESPX_A_DETACHED = 9, 10
ESPX_ID_FAMILY, ESPX_ID_DADDR, ESPX_ID_SPI = 1, 2, 3
ESPX_INFO_NS_STATS = 3
# enum espx_counters_attr / enum espx_ctr_attr
ESPX_COUNTERS_COUNT, ESPX_COUNTERS_WINDOW, ESPX_COUNTERS_START, ESPX_COUNTERS_WINDOWS = 1, 2, 3, 4
ESPX_CTR_FIELDS = (None, 'id', 'out_seq', 'out_packets', 'out_bytes', 'in_top', 'in_packets',
                   'in_bytes', 'in_replay')
# Names of enum espx_stat / espx_ns_stat, by value. Taken from the uapi header
# when it is next to the selftests (so they cannot drift), else this copy.
ESPX_STATS = ('unspec out_packets out_bytes in_packets in_bytes out_drop_nomem '
              'out_drop_crypto in_drop_truncated in_drop_icv in_drop_padding '
              'in_drop_nomem in_drop_beetph in_drop_wesp_truncated in_drop_wesp_version '
              'in_drop_wesp_align in_drop_wesp_option in_drop_wesp_opt_unknown '
              'in_drop_wesp_hdrlen in_drop_wesp_crypt_offset in_drop_wesp_nexthdr '
              'in_drop_wesp_subsa in_drop_wesp_not_wesp in_drop_wesp_plain_sa '
              'out_drop_ctr_exhausted in_drop_ctr_range in_drop_ctr_seq in_drop_ctr_iv '
              'in_drop_ctr_replay in_drop_ctr_nomem out_drop_diet_nomatch '
              'in_drop_diet_proto in_drop_diet_sn in_drop_diet_trailer '
              'in_drop_diet_residue in_drop_diet_dscp in_drop_diet_length '
              'in_diet_candidate_retry in_drop_crypto in_drop_aggfrag in_drop_echo_truncated '
              'in_drop_echo_unsupported in_drop_echo_replay in_drop_echo_length '
              'in_drop_echo_disabled in_echo_oneway in_echo_ratelimited '
              'echo_reply_fallback in_drop_echo_no_sa out_echo_reply '
              'in_drop_echo_unsolicited in_echo_request in_echo_reply '
              'out_echo_request out_drop_echo in_drop_eesp_header in_drop_eesp_version '
              'in_drop_eesp_truncated in_drop_eesp_option in_drop_eesp_crypt_offset '
              'in_drop_eesp_subsa in_drop_eesp_replay in_drop_eesp_pih in_drop_eesp_inner '
              'in_drop_eesp_not_eesp in_drop_eesp_plain_sa in_eesp_dummy '
              'out_drop_eesp_exhausted').split()
ESPX_NS_STATS = ('unspec wesp_truncated wesp_no_sa diet_truncated diet_no_sa pending_expired '
                 'rule_fallback echo_plain eesp_truncated eesp_no_sa').split()


def uapi_enum(name, prefix, fallback):
    import re
    here = os.path.dirname(os.path.abspath(__file__))
    for p in (os.path.join(here, '..', '..', 'include', 'uapi', 'linux', 'espx.h'),):
        try:
            with open(p) as f:
                text = f.read()
        except OSError:
            continue
        m = re.search(r'enum %s \{(.*?)\};' % name, text, re.S)
        if not m:
            break
        names = re.findall(r'^\s*(%s\w+)\s*,' % prefix, m.group(1), re.M)
        names = [n[len(prefix):].lower() for n in names if not n.startswith('__')]
        if names and names[0] == 'unspec':
            return names
    return fallback


class NlError(Exception):
    def __init__(self, err, msg=''):
        super().__init__(err, msg)
        self.err = err
        self.msg = msg

    def __str__(self):
        return 'error %d %s%s' % (self.err, os.strerror(self.err),
                                  ': ' + self.msg if self.msg else '')


def nla(t, v):
    return struct.pack('=HH', 4 + len(v), t) + v + b'\0' * (-len(v) % 4)


def nla_parse(b, off=0):
    d = {}
    while off + 4 <= len(b):
        ln, t = struct.unpack_from('=HH', b, off)
        if ln < 4:
            break
        d.setdefault(t & 0x3fff, b[off + 4:off + ln])
        off += (ln + 3) & ~3
    return d


class Netlink:
    """One netlink socket; talk() sends a request and collects its replies."""

    def __init__(self, proto, groups=0):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, proto)
        self.s.settimeout(30)
        self.s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.s.bind((0, groups))
        self.seq = (os.getpid() & 0xffff) << 12

    def talk(self, typ, flags, body):
        """Replies (type, payload) of the request; NlError on an error ack."""
        self.seq += 1
        self.s.send(struct.pack('=IHHII', 16 + len(body), typ, flags | NLM_F_REQUEST,
                                self.seq, 0) + body)
        out = []
        while True:
            data = self.s.recv(1 << 20)
            off = 0
            while off + 16 <= len(data):
                ln, t, fl, seq, _ = struct.unpack_from('=IHHII', data, off)
                if ln < 16:
                    break
                if seq == self.seq:
                    if t == NLMSG_ERROR:
                        err, = struct.unpack_from('=i', data, off + 16)
                        if err:
                            raise NlError(-err, extack_msg(data, off, ln, fl))
                        return out
                    if t == NLMSG_DONE:
                        return out
                    out.append((t, data[off + 16:off + ln]))
                off += (ln + 3) & ~3


def extack_msg(data, off, ln, flags):
    """NLMSGERR_ATTR_MSG from the attributes after the echoed request."""
    olen, = struct.unpack_from('=I', data, off + 20)
    # the echoed request: its header only when capped
    skip = 16 if flags & NLM_F_CAPPED else (olen + 3) & ~3
    m = nla_parse(data[:off + ln], off + 20 + skip).get(NLMSGERR_ATTR_MSG, b'')
    return m.split(b'\0')[0].decode(errors='replace')


def in_netns(path, fn):
    """fn() run in the network namespace of PATH (/proc/PID/ns/net, ...): the
    sockets it opens keep that netns"""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open('/proc/self/ns/net', os.O_RDONLY)
    tgt = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(tgt, CLONE_NEWNET):
            raise OSError(ctypes.get_errno(), 'setns ' + path)
        try:
            return fn()
        finally:
            libc.setns(own, CLONE_NEWNET)
    finally:
        os.close(own)
        os.close(tgt)


class EspxGenl:
    """Client of the espx family in the netns of process pid (queries, SA_SET)."""

    def __init__(self, pid):
        self.nl = in_netns('/proc/%s/ns/net' % pid, lambda: Netlink(NETLINK_GENERIC))
        self.ctr_spis = None        # per-counter state of these SPIs only
        self.stat_names = uapi_enum('espx_stat', 'ESPX_STAT_', ESPX_STATS)
        self.ns_names = uapi_enum('espx_ns_stat', 'ESPX_NS_STAT_', ESPX_NS_STATS)
        name = b'espx\0'
        attrs = nla(2, name)        # CTRL_ATTR_FAMILY_NAME
        msgs = self.talk(GENL_ID_CTRL, 3, NLM_F_REQUEST | NLM_F_ACK, attrs, 1)
        self.family = struct.unpack('=H', nla_parse(msgs[0])[1][:2])[0]

    def talk(self, typ, cmd, flags, attrs=b'', version=1):
        """The payloads (after the genl header) of a request's replies"""
        body = struct.pack('=BBH', cmd, version, 0) + attrs
        try:
            return [p[4:] for _, p in self.nl.talk(typ, flags, body)]
        except NlError as e:
            raise OSError(e.err, 'espx netlink request failed') from None

    def sas(self):
        """[(spi, raw ESPX_A_SA_ID nest, attrs)] of every SA and pending config"""
        out = []
        for m in self.talk(self.family, ESPX_CMD_SA_GET, NLM_F_REQUEST | NLM_F_DUMP):
            at = nla_parse(m)
            if ESPX_A_SA_ID not in at:
                continue
            spi = struct.unpack('!I', nla_parse(at[ESPX_A_SA_ID])[ESPX_ID_SPI][:4])[0]
            out.append((spi, at[ESPX_A_SA_ID], at))
        return out

    def ctrs(self, sa_id):
        """One dict per counter of the SA (ESPX_CMD_CTR_GET dump); in_top None
        while the counter has no receive window"""
        res = []
        # strict validation: a nest must carry NLA_F_NESTED
        for m in self.talk(self.family, ESPX_CMD_CTR_GET, NLM_F_REQUEST | NLM_F_DUMP,
                           nla(ESPX_A_SA_ID | NLA_F_NESTED, sa_id)):
            ctr = nla_parse(nla_parse(m).get(ESPX_A_CTR, b''))
            d = {'in_top': None}
            for t, v in ctr.items():
                if 0 < t < len(ESPX_CTR_FIELDS):
                    d[ESPX_CTR_FIELDS[t]] = (struct.unpack('=H', v[:2])[0] if t == 1 else
                                             struct.unpack('=Q', v[:8])[0])
            res.append(d)
        return res

    def counters(self):
        c = {}
        for spi, sa_id, at in self.sas():
            if ESPX_A_STATS not in at:
                continue
            for t, v in nla_parse(at[ESPX_A_STATS]).items():
                if 0 < t < len(self.stat_names) and len(v) >= 8:
                    c['espx:0x%x:%s' % (spi, self.stat_names[t])] = struct.unpack('=Q', v[:8])[0]
            if ESPX_A_COUNTERS not in at:
                continue
            # counter SAs: windows allocated, and every counter that has
            # done anything (absent = all zero, no window); a dump per SA
            # costs a message per counter: only for ctr_spis if set
            cn = nla_parse(at[ESPX_A_COUNTERS])
            if ESPX_COUNTERS_WINDOWS in cn:
                c['espx:0x%x:windows' % spi] = struct.unpack('=I', cn[ESPX_COUNTERS_WINDOWS][:4])[0]
            if self.ctr_spis is not None and spi not in self.ctr_spis:
                continue
            for d in self.ctrs(sa_id):
                for k in ('in_packets', 'in_replay', 'in_top', 'out_packets'):
                    if d.get(k):
                        c['espxctr:0x%x:%d:%s' % (spi, d['id'], k)] = d[k]
        for m in self.talk(self.family, ESPX_CMD_INFO_GET, NLM_F_REQUEST | NLM_F_ACK):
            info = nla_parse(nla_parse(m).get(ESPX_A_INFO, b''))
            for t, v in nla_parse(info.get(ESPX_INFO_NS_STATS, b'')).items():
                if 0 < t < len(self.ns_names) and len(v) >= 8:
                    c['espxns:%s' % self.ns_names[t]] = struct.unpack('=Q', v[:8])[0]
        return c


def counters(pid, app_log, genl=None):
    """Drop-relevant counters of the netns of process PID, and the app log size;
    with genl (an EspxGenl in that netns) also espx's per-SA and netns counters."""
    c = genl.counters() if genl else {}
    base = '/proc/%s/net/' % pid
    for name in ('xfrm_stat', 'snmp6'):
        try:
            with open(base + name) as f:
                for line in f:
                    k, v = line.split()[:2]
                    c[k] = int(v)
        except OSError:
            pass
    for name in ('snmp', 'netstat'):
        try:
            with open(base + name) as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for h, v in zip(lines[0::2], lines[1::2]):
            hs, vs = h.split(), v.split()
            for k, x in zip(hs[1:], vs[1:]):
                c[hs[0].rstrip(':') + k] = int(x)
    if app_log:
        try:
            with open(app_log, 'rb') as f:
                c['APP'] = f.read().count(b'\n')
        except OSError:
            c['APP'] = 0
    return c


# Neighbour discovery, router solicitation and MLD run on their own timers
# (an RS can leave during any injection): not a reply to our packet. The
# type-specific ICMP counters still show any error a packet provoked, so the
# per-message totals are left out too.
ND_NOISE = ('IcmpOutMsgs', 'Icmp6OutMsgs', 'Icmp6OutRouterSolicits',
            'Icmp6OutNeighborSolicits', 'Icmp6OutNeighborAdvertisements',
            'Icmp6OutMLDv2Reports', 'Icmp6OutGroupMembReports',
            'Icmp6OutType130', 'Icmp6OutType131', 'Icmp6OutType133',
            'Icmp6OutType135', 'Icmp6OutType136', 'Icmp6OutType143')


def interesting(k):
    if k in ND_NOISE:
        return False
    if k.startswith('espx'):
        return not k.endswith('_bytes')
    return (k.startswith('Xfrm') or k == 'APP' or 'Err' in k or 'Unknown' in k or
            'Trunc' in k or 'Discard' in k or 'Drop' in k or
            k.startswith('IcmpOut') or k.startswith('Icmp6Out'))


def cmd_ctr(a):
    """Counter state of the counter SAs of this netns (ESPX_CMD_CTR_GET), in
    espx_genl ctr's format"""
    g = EspxGenl(os.getpid())
    for spi, sa_id, at in g.sas():
        if (a.spi is not None and spi != a.spi) or ESPX_A_COUNTERS not in at:
            continue
        cn = nla_parse(at[ESPX_A_COUNTERS])
        u = {k: struct.unpack('=Q', (v + bytes(8))[:8])[0] for k, v in cn.items()}
        print('sa 0x%x counters %d window %d windows %d' % (
            spi, u.get(ESPX_COUNTERS_COUNT, 0) & 0xffff,
            u.get(ESPX_COUNTERS_WINDOW, 0) & 0xffffffff,
            u.get(ESPX_COUNTERS_WINDOWS, 0) & 0xffffffff))
        for d in g.ctrs(sa_id):
            if a.active and not (d.get('out_packets') or d['in_top'] is not None or
                                 d.get('in_replay')):
                continue
            print('id=%d out_seq=%d out_packets=%d out_bytes=%d in_top=%s in_packets=%d '
                  'in_bytes=%d in_replay=%d' % (
                      d.get('id', -1), d.get('out_seq', 0), d.get('out_packets', 0),
                      d.get('out_bytes', 0), '-' if d['in_top'] is None else d['in_top'],
                      d.get('in_packets', 0), d.get('in_bytes', 0), d.get('in_replay', 0)))


def cmd_espx_stats(a):
    """espx's per-SA (espx:SPI:NAME), per-counter (espxctr:SPI:ID:NAME) and
    netns counters of this netns, one 'NAME VALUE' a line"""
    g = EspxGenl(a.pid or os.getpid())
    if a.spi is not None:
        g.ctr_spis = {a.spi}
    for k, v in sorted(g.counters().items()):
        print(k, v)
