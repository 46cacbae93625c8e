# SPDX-License-Identifier: GPL-2.0
"""espx_py: the packet code of the espx selftests, run by espx_pkt.py (its
command line) and shared with espx_fuzz.py and xfrm_nl.py.

  frames    pcap files, ESP in Ethernet frames, outer IP/UDP headers
  codec     ESP, WESPv2 and counter-SA AEAD codecs (python3-cryptography)
  diet      the Diet-ESP codec (header compression, SN rebuild)
  netlink   netlink messages, the espx genl client, netns counters
  vectors   the specs' vectors through these codecs
  checks    decoders of captured frames (SA checks, nonce uniqueness)
  crafters  mutated, re-sealed and made-from-scratch packets
  servers   capture, inject, serve, UDP/encap sockets, traffic, responders
"""
