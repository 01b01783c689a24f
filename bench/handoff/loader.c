// attach xdp (mode skb|drv|none) and tcx ingress on IFNAME, run CMD, print counters, detach.
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: obj ifname skb|drv|none cmd\n"); return 2; }
    int ifindex = if_nametoindex(argv[2]);
    struct bpf_object *o = bpf_object__open_file(argv[1], NULL);
    if (!o || bpf_object__load(o)) { fprintf(stderr, "load failed\n"); return 1; }
    int xfd = bpf_program__fd(bpf_object__find_program_by_name(o, "xdp_mark"));
    int tfd = bpf_program__fd(bpf_object__find_program_by_name(o, "tc_mark"));
    int cfd = bpf_map__fd(bpf_object__find_map_by_name(o, "cnt"));
    int xl = -1;
    if (strcmp(argv[3], "none")) {
        LIBBPF_OPTS(bpf_link_create_opts, xo);
        xo.flags = !strcmp(argv[3], "skb") ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
        xl = bpf_link_create(xfd, ifindex, BPF_XDP, &xo);
        if (xl < 0) { perror("xdp link"); return 1; }
    }
    int tl = bpf_link_create(tfd, ifindex, (enum bpf_attach_type)46 /* BPF_TCX_INGRESS */, NULL);
    if (tl < 0) { perror("tcx link"); return 1; }
    int rc = system(argv[4]);
    const char *names[32] = {"xdp_seen", "xdp_l4sum_ok", "xdp_l4sum_bad", "xdp_l4sum_na", "xdp_meta_fail",
        "xdp_meta_set", 0, 0, "tc_seen", "tc_meta_found", "tc_meta_decided", "tc_meta_deferred", "tc_no_meta",
        "tc_csum_level_EACCES", "tc_csum_level_ge0", 0, "tc_ip_summed_NONE", "tc_ip_summed_UNNECESSARY",
        "tc_ip_summed_COMPLETE", "tc_ip_summed_PARTIAL", "tc_csum_valid", "tc_l4sum_ok", "tc_l4sum_bad", "tc_l4sum_na"};
    for (__u32 k = 0; k < 32; k++) {
        __u64 v = 0;
        if (names[k] && bpf_map_lookup_elem(cfd, &k, &v) == 0 && v) printf("  %-26s %llu\n", names[k], (unsigned long long)v);
    }
    close(tl); if (xl >= 0) close(xl);
    return rc ? 1 : 0;
}
