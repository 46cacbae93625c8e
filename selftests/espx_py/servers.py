# SPDX-License-Identifier: GPL-2.0
"""Listeners and senders: capture, inject (alone or from a "serve" process
that reports counter deltas), UDP echo/sink/encap sockets, traffic, the
user-space ESP Echo responder."""
import os
import select
import signal
import socket
import struct
import sys
import time
from .frames import (ETH_P_ALL, Esp, IPPROTO_ESP, PACKET_OUTGOING, UDP_ENCAP, UDP_ENCAP_ESPINUDP,
                     pcap_read, pcap_write)
from .codec import echo_codec
from .netlink import (EspxGenl, counters, interesting)


# ---------------------------------------------------------- subcommands ----
def cmd_capture(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((a.dev, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    signal.signal(signal.SIGTERM, lambda *x: sys.exit(0))
    frames, end = [], time.time() + a.timeout
    print('ready', flush=True)
    try:
        while len(frames) < a.count:
            left = end - time.time()
            if left <= 0 or not select.select([s], [], [], left)[0]:
                break
            data, addr = s.recvfrom(65535)
            outgoing = addr[2] == PACKET_OUTGOING
            if (a.dir == 'in' and outgoing) or (a.dir == 'out' and not outgoing):
                continue
            e = Esp(data)
            if e.off is not None and (a.spi is None or e.spi == a.spi):
                frames.append(data)
    finally:            # count reached, timeout or SIGTERM: write what we have
        pcap_write(a.out, frames)
        print('captured %d' % len(frames), flush=True)


def cmd_send(a):
    frames = pcap_read(a.pcap)
    idx = a.index if a.index else range(len(frames))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.dev, 0))
    pid = getattr(a, 'stats_pid', None)
    genl = getattr(a, 'genl', None)
    if pid:
        before = counters(pid, a.app_log, genl)
    # One CPU for the whole send: veth queues each frame to the backlog of
    # the CPU that sent it, so a sender that moved between CPUs could have
    # its frames received out of order (crafted SN sequences must arrive as
    # written; seen on the debug kernel: diet.sh point 44).
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})
    try:
        for i in idx:
            s.send(frames[i])
            if a.gap:
                time.sleep(a.gap)
    finally:
        os.sched_setaffinity(0, cpus)
    s.close()
    print('sent %d' % len(idx))
    if not pid:
        return
    if genl:
        print('delta ' + ' '.join('%s+%d' % kv for kv in sorted(
            settle_espx(a, pid, genl, before).items())))
        return
    # the receiver works in softirq (or async crypto): wait for a visible effect
    end, delta = time.time() + a.settle, {}
    while True:
        time.sleep(0.05)
        after = counters(pid, a.app_log)
        delta = changes(before, after)
        if delta or time.time() > end:
            break
    time.sleep(0.1)
    after = counters(pid, a.app_log)
    delta = changes(before, after)
    print('delta ' + ' '.join('%s+%d' % kv for kv in sorted(delta.items())))


def changes(before, after):
    """the interesting counters that moved from before to after, by how much"""
    return {k: v - before.get(k, 0) for k, v in after.items()
            if v != before.get(k, 0) and interesting(k)}


def verdicts(delta):
    """Packets espx gave a verdict on: decrypted, or dropped and counted"""
    return sum(v for k, v in delta.items() if k.startswith('espxns:') or
               (k.startswith('espx:') and (':in_drop_' in k or k.endswith(':in_packets'))))


# How long the deltas must stay unchanged before settle_espx() trusts them:
# an async crypto completion runs from a workqueue, and espx counts its
# verdict before xfrm_input_resume() counts the core's (and delivers).
SETTLE_STABLE = 0.3


def settle_espx(a, pid, genl, before):
    """Counter deltas once the packets are through: the receiver works in
    softirq and async crypto, and the application (APP) later still. Waits
    for a.want espx verdicts and a.want_app datagrams (or, without them, for
    any change), then until no counter moved for SETTLE_STABLE seconds;
    a.settle at most."""
    end = time.time() + a.settle
    last, since = None, time.time()
    while True:
        time.sleep(0.05)
        after = counters(pid, a.app_log, genl)
        now = time.time()
        delta = changes(before, after)
        want = a.want or a.want_app
        reached = (verdicts(delta) >= a.want and delta.get('APP', 0) >= a.want_app
                   if want else bool(delta))
        if delta != last:
            last, since = delta, now
        if (reached and now - since >= SETTLE_STABLE) or now > end:
            return delta


def cmd_serve(a, parser, run):
    """Run subcommands read from stdin, one per line, each answer ends with '.'
    (parser parses a line, run(args) runs it)"""
    import shlex
    genl = None
    if a.espx_stats and a.stats_pid:
        try:
            genl = EspxGenl(a.stats_pid)
            if a.ctr_spi:
                genl.ctr_spis = set(a.ctr_spi)
            print('ready', flush=True)
        except OSError as e:
            print('no espx statistics: %s' % e, flush=True)
    else:
        print('ready', flush=True)
    pipe = sys.stdout
    for line in sys.stdin:
        argv = shlex.split(line)
        if not argv:
            continue
        # --out: the answer goes to a file, only '.' to the pipe; a shell reads
        # a pipe one octet at a time (thousands of lines took minutes under
        # emulation), a file in one go
        out = open(a.out, 'w') if a.out else pipe
        sys.stdout = out
        try:
            b = parser.parse_args(argv)
            if b.cmd == 'send':
                b.stats_pid, b.app_log, b.settle = a.stats_pid, a.app_log, a.settle
                b.genl = genl
            if b.cmd == 'serve':
                raise SystemExit('no nested serve')
            run(b)
        except SystemExit as e:
            if e.code not in (0, None):
                print('error: %s' % e.code)
        except Exception as e:      # keep serving: report and go on
            print('error: %r' % e)
        sys.stdout = pipe
        if out is not pipe:
            out.close()
        print('.', flush=True)


def echo_plain_reply(ec, req, mode):
    """The SPI 8 packet (SPI onwards) answering request payload req, made
    malformed as mode says ('reply': well formed)"""
    p = bytearray(ec.reply(req))
    nh = ec.NH_AGGFRAG
    if mode == 'dlen':          # Data Length one more than the Data
        p[2:4] = struct.pack('!H', len(p) - ec.HDR_LEN + 1)
    elif mode == 'subtype':     # the request's Sub-Type left in place
        p[0] = req[0]
    elif mode == 'spi':         # Reply path SPI not copied
        p[8:12] = struct.pack('!I', 9)
    elif mode == 'data' and len(p) > ec.HDR_LEN:
        p[ec.HDR_LEN] ^= 0xff
    elif mode == 'long':        # one Data octet more than the request had
        p += b'\x99'
        p[2:4] = struct.pack('!H', len(p) - ec.HDR_LEN)
    elif mode == 'nh':
        nh = 59
    t = bytearray(ec.trailer(len(p)))
    t[-1] = nh
    if mode == 'pad':           # pad octets not 1, 2, ...
        pl = -(len(p) + 2) % 4 or 4
        t = bytearray(b'\x07' * pl + bytes([pl, nh]))
    return struct.pack('!II', ec.SPI_REP, 0) + bytes(p) + bytes(t)


def cmd_echo_responder(a):
    ec = echo_codec()
    fam = socket.AF_INET if a.family == 4 else socket.AF_INET6
    s = socket.socket(fam, socket.SOCK_RAW, IPPROTO_ESP)
    modes = a.modes.split(',')
    log = open(a.log, 'a') if a.log else None
    signal.signal(signal.SIGTERM, lambda *x: sys.exit(0))
    print('ready', flush=True)
    end, n = time.time() + a.timeout, 0
    while time.time() < end:
        if not select.select([s], [], [], max(0, end - time.time()))[0]:
            break
        pkt, src = s.recvfrom(65536)
        esp = pkt[(pkt[0] & 0xf) * 4:] if a.family == 4 else pkt
        if len(esp) < 10 or struct.unpack('!I', esp[:4])[0] != ec.SPI_REQ:
            continue
        if log:
            log.write('request %s %s\n' % (src[0], pkt.hex()))
            log.flush()
        mode = modes[min(n, len(modes) - 1)]
        n += 1
        pl = esp[-2]
        req = esp[8:len(esp) - 2 - pl]
        m = ec.parse(req)
        if not m or not m['r'] or m['reply_spi'] != ec.SPI_REP:
            mode = 'silent'     # section 4: R=0 or another SPI: no reply
        for m in mode.split('+'):
            if m != 'silent':
                s.sendto(echo_plain_reply(ec, req, m), (src[0], 0))
        print('request %d: %s' % (n, mode), flush=True)


def cmd_blast(a):
    """count UDP datagrams to dst:port as fast as a blocking socket takes
    them (sendmmsg, batch at a time), or one per gap seconds"""
    import ctypes
    fam = socket.AF_INET6 if ':' in a.dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if a.sport:
        s.bind(('::' if fam == socket.AF_INET6 else '0.0.0.0', a.sport))
    s.connect((a.dst, a.port))
    msg = (a.tag.encode() + b' ' * a.len)[:max(a.len, len(a.tag))]
    sent = errs = 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *x: stop.append(1))
    print('ready', flush=True)
    while a.go and not os.path.exists(a.go) and not stop:
        time.sleep(0.01)
    t0 = time.monotonic()
    if a.gap or a.batch <= 1:
        for _ in range(a.count):
            if stop:
                break
            try:
                s.send(msg)
                sent += 1
            except OSError:
                errs += 1
            if a.gap:
                time.sleep(a.gap)
        print('sent %d errors %d in %.3f s' % (sent, errs, time.monotonic() - t0),
              flush=True)
        return

    class Iov(ctypes.Structure):
        _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]

    class Mmsg(ctypes.Structure):
        _fields_ = [('name', ctypes.c_void_p), ('namelen', ctypes.c_uint),
                    ('iov', ctypes.POINTER(Iov)), ('iovlen', ctypes.c_size_t),
                    ('control', ctypes.c_void_p), ('controllen', ctypes.c_size_t),
                    ('flags', ctypes.c_int), ('msg_len', ctypes.c_uint)]
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(msg, len(msg))
    iov = Iov(ctypes.cast(buf, ctypes.c_void_p), len(msg))
    vec = (Mmsg * a.batch)()
    for m in vec:
        m.iov = ctypes.pointer(iov)
        m.iovlen = 1
    while sent < a.count and not stop:
        k = min(a.batch, a.count - sent)
        r = libc.sendmmsg(s.fileno(), vec, k, 0)
        if r < 0:
            errs += 1
            if errs > 1000:
                break
            time.sleep(0.001)
            continue
        sent += r
    print('sent %d errors %d in %.3f s' % (sent, errs, time.monotonic() - t0), flush=True)


def cmd_sink(a):
    """count datagrams per local port; SIGUSR1 or SIGTERM print
    'count PORT:N ...' (SIGTERM then exits)"""
    socks = {}
    for p in a.port:
        for s in _bind_both(p):
            s.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)     # SO_RCVBUFFORCE
            s.setblocking(False)
            socks[s] = p
    cnt = {p: 0 for p in a.port}
    flags = {'show': False, 'stop': False}
    signal.signal(signal.SIGUSR1, lambda *x: flags.update(show=True))
    signal.signal(signal.SIGTERM, lambda *x: flags.update(show=True, stop=True))
    print('ready', flush=True)
    while True:
        try:
            r = select.select(list(socks), [], [], 0.1)[0]
        except InterruptedError:
            r = []
        for s in r:
            while True:
                try:
                    s.recv(65535)
                except OSError:
                    break
                cnt[socks[s]] += 1
        if flags['show']:
            flags['show'] = False
            print('count ' + ' '.join('%d:%d' % kv for kv in sorted(cnt.items())), flush=True)
        if flags['stop']:
            return


def _wait_forever(socks, log):
    signal.signal(signal.SIGTERM, lambda *x: sys.exit(0))
    print('ready', flush=True)
    while True:
        for s in select.select(socks, [], [])[0]:
            data, peer = s.recvfrom(65535)
            if log:
                with open(log, 'ab') as f:
                    f.write(data.rstrip(b'\n') + b'\n')
            yield s, data, peer


def _bind_both(port, setup=None):
    socks = []
    for fam, addr in ((socket.AF_INET, '0.0.0.0'), (socket.AF_INET6, '::')):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if setup:
            setup(s)
        s.bind((addr, port))
        socks.append(s)
    return socks


XFRM_INF = (1 << 64) - 1
IP_XFRM_POLICY = 17
IPV6_XFRM_POLICY = 35


def bypass_policy(s, fam):
    """Per-socket "allow" policies in both directions, as IKE daemons put on their
    sockets: Linux checks the input policy of a UDP packet before handing it to
    the encap hook, so a transport-mode policy covering the peer's address would
    otherwise drop the ESP-in-UDP packets (XfrmInTmplMismatch)."""
    for d in (0, 1):    # XFRM_POLICY_IN, XFRM_POLICY_OUT
        sel = bytearray(56)
        struct.pack_into('=H', sel, 40, fam)
        pol = (bytes(sel) + struct.pack('=8Q', *([XFRM_INF] * 8)) + bytes(32) +
               struct.pack('=IIBBBB', 0, 0, d, 0, 0, 0) + bytes(4))
        if fam == socket.AF_INET:
            s.setsockopt(socket.IPPROTO_IP, IP_XFRM_POLICY, pol)
        else:
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_XFRM_POLICY, pol)


def encap_setup(s):
    s.setsockopt(socket.IPPROTO_UDP, UDP_ENCAP, UDP_ENCAP_ESPINUDP)
    bypass_policy(s, s.family)


def cmd_encap_sock(a):
    for _ in _wait_forever(_bind_both(a.port, encap_setup), a.log):
        pass


def cmd_udp_echo(a):
    for s, data, peer in _wait_forever(_bind_both(a.port), a.log):
        s.sendto(data, peer)


def cmd_servers(a):
    echo = _bind_both(a.echo_port)
    sink = _bind_both(a.sink_port) if a.sink_port else []
    encap = _bind_both(a.encap_port, encap_setup)
    for s, data, peer in _wait_forever(echo + sink + encap, None):
        log = a.encap_log if s in encap else a.echo_log
        if log:
            with open(log, 'ab') as f:
                f.write(data.rstrip(b'\n') + b'\n')
        if s in echo:
            s.sendto(data, peer)


def cmd_udp_ping(a):
    fails = 0
    for dst in a.dst:
        fam = socket.AF_INET6 if ':' in dst else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        msg = ('%s %s %d' % (a.tag, dst, os.getpid())).encode()
        if a.len:       # a fixed size: pad with spaces or cut
            msg = (msg + b' ' * a.len)[:a.len]
        ok = False
        try:
            s.connect((dst, a.port))
            for _ in range(a.tries):
                s.send(msg)
                if select.select([s], [], [], a.timeout)[0] and s.recv(65535) == msg:
                    ok = True
                    break
        except OSError as err:
            print('# %s: %s' % (dst, err))
        s.close()
        fails += not ok
        print('%s %s' % ('ok' if ok else 'fail', dst), flush=True)
    sys.exit(1 if fails else 0)


def cmd_traffic(a):
    """ICMP echo (a.pings replies needed) and one UDP echo per destination, all
    destinations at once; up to a.rounds sends of what is still missing."""
    st = {}
    for d in a.dst:
        v6 = ':' in d
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        icmp = socket.socket(fam, socket.SOCK_DGRAM,
                             socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
        udp = socket.socket(fam, socket.SOCK_DGRAM)
        icmp.connect((d, 0))
        udp.connect((d, a.port))
        st[d] = {'icmp': icmp, 'udp': udp, 'v6': v6, 'seqs': set(), 'uok': False,
                 'msg': ('%s %s %d' % (a.tag, d, os.getpid())).encode(), 'err': ''}
    owner = {}
    for d, x in st.items():
        owner[x['icmp']] = (d, 'icmp')
        owner[x['udp']] = (d, 'udp')

    def done(x):
        return len(x['seqs']) >= a.pings and x['uok']
    for rnd in range(a.rounds):
        for d, x in st.items():
            try:
                for seq in range(1, a.pings + 1):
                    if seq not in x['seqs']:
                        x['icmp'].send(struct.pack('!BBHHH', 128 if x['v6'] else 8, 0, 0, 0,
                                                   seq) + x['msg'])
                if not x['uok']:
                    x['udp'].send(x['msg'])
                    x['uok'] = a.no_reply
            except OSError as e:
                x['err'] = str(e)
        end = time.time() + a.timeout
        while not all(done(x) for x in st.values()):
            left = end - time.time()
            r = select.select(list(owner), [], [], left)[0] if left > 0 else []
            if not r:
                break
            for s in r:
                d, kind = owner[s]
                x = st[d]
                try:
                    data = s.recv(65535)
                except OSError as e:
                    x['err'] = str(e)
                    continue
                if kind == 'udp':
                    x['uok'] |= data == x['msg']
                elif data[0] in (0, 129) and data[8:] == x['msg']:
                    x['seqs'].add(struct.unpack('!H', data[6:8])[0])
        if all(done(x) for x in st.values()):
            break
    fails = 0
    for d in a.dst:
        x = st[d]
        ok = done(x)
        fails += not ok
        print('%s %s icmp %d/%d udp %d%s' % ('ok' if ok else 'fail', d, len(x['seqs']),
                                            a.pings, x['uok'],
                                            ' ' + x['err'] if x['err'] else ''))
    sys.exit(1 if fails else 0)
