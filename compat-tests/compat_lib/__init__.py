"""Differential testing of bpftables against the kernel's netfilter (issue 4)."""
