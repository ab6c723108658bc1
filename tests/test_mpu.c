/* SPDX-License-Identifier: MIT */
/*
 * test_mpu.c - heapkit/mpu.h on every target: the PMSAv7 and PMSAv8
 * register encodings against values computed by hand from the architecture
 * manuals, every argument rule, domains (overlap, nesting, region budget,
 * removal), the register load through a fake register block, fault
 * decoding, and partitions around heaps, pools and stacks. Nothing here
 * touches a real MPU: ports/mpu/ runs the enforcement tests under QEMU.
 */
#include "heapkit/mpu.h"
#include "hk_test.h"

#define P(base, size, attr) { (void *)(uintptr_t)(base), (size), (attr), #base }

static hk_mpu_region_t enc(hk_mpu_arch_t arch, uintptr_t base, size_t size, uint32_t attr,
                           unsigned region, int *rc)
{
    hk_mpu_partition_t p = { (void *)base, size, attr, NULL };
    hk_mpu_region_t r = { 0xdeadbeefu, 0xdeadbeefu };
    *rc = hk_mpu_encode(arch, &p, region, &r);
    return r;
}

/* RASR/RBAR fields, hand-computed (see the layout in src/mpu/mpu.c):
 * normal memory TEX=001 C=1 B=1 = 0x000B0000, device S=1 B=1 = 0x00050000,
 * XN = 0x10000000, AP << 24, SIZE = log2(bytes) - 1 in bits 5:1. */
static void test_v7_encodings(void)
{
    int rc;
    hk_mpu_region_t r = enc(HK_MPU_PMSAV7, 0x0, 4u << 20, HK_MPU_RX, 0, &rc);
    HK_CHECK_EQ(rc, HK_OK);
    HK_CHECK_EQ(r.rbar, 0x00000010u);  /* VALID, region 0 */
    HK_CHECK_EQ(r.rasr, 0x060B002Bu);  /* AP=110, normal, SIZE=21, EN */
    r = enc(HK_MPU_PMSAV7, 0x20001400u, 3072, HK_MPU_RW, 3, &rc);
    HK_CHECK_EQ(rc, HK_OK);
    HK_CHECK_EQ(r.rbar, 0x20001013u);  /* 4 KiB region at 0x20001000, region 3 */
    HK_CHECK_EQ(r.rasr, 0x130B0317u);  /* XN, AP=011, SRD=0x03, SIZE=11 */
    r = enc(HK_MPU_PMSAV7, 0x40004000u, 4096, HK_MPU_RW | HK_MPU_DEVICE, 1, &rc);
    HK_CHECK_EQ(rc, HK_OK);
    HK_CHECK_EQ(r.rbar, 0x40004011u);
    HK_CHECK_EQ(r.rasr, 0x13050017u);  /* XN, AP=011, device, SIZE=11 */
    r = enc(HK_MPU_PMSAV7, 0x20002000u, 32, HK_MPU_NO_ACCESS, 5, &rc);
    HK_CHECK_EQ(rc, HK_OK);
    HK_CHECK_EQ(r.rbar, 0x20002015u);
    HK_CHECK_EQ(r.rasr, 0x100B0009u);  /* XN, AP=000, SIZE=4 */
    r = enc(HK_MPU_PMSAV7, 0x20000100u, 256, HK_MPU_PRIV_RW_USER_RO, 2, &rc);
    HK_CHECK_EQ(rc, HK_OK);
    HK_CHECK_EQ(r.rbar, 0x20000112u);
    HK_CHECK_EQ(r.rasr, 0x120B000Fu);  /* XN, AP=010, SIZE=7 */
    r = enc(HK_MPU_PMSAV7, 0x20000000u, 1024, HK_MPU_PRIV_R, 4, &rc);
    HK_CHECK_EQ(rc, HK_OK);
    HK_CHECK_EQ(r.rasr, 0x150B0013u);  /* XN, AP=101, SIZE=9 */
    /* 64 bytes at an odd 32: a 256-byte region, subregions 1 and 2 */
    r = enc(HK_MPU_PMSAV7, 0x20000020u, 64, HK_MPU_RW, 6, &rc);
    HK_CHECK_EQ(rc, HK_OK);
    HK_CHECK_EQ(r.rbar, 0x20000016u);
    HK_CHECK_EQ(r.rasr, 0x130BF90Fu);  /* SRD = ~0b110 = 0xF9, SIZE=7 */
    /* 7/8 of 1 KiB (a stack above a 128-byte guard) */
    r = enc(HK_MPU_PMSAV7, 0x20000480u, 896, HK_MPU_RW, 7, &rc);
    HK_CHECK_EQ(rc, HK_OK);
    HK_CHECK_EQ(r.rbar, 0x20000417u);
    HK_CHECK_EQ(r.rasr, 0x130B0113u);  /* SRD = 0x01, SIZE=9 */
}

static void test_v8_encodings(void)
{
    int rc;
    hk_mpu_region_t r = enc(HK_MPU_PMSAV8, 0x10000000u, 4u << 20, HK_MPU_RX, 0, &rc);
    HK_CHECK_EQ(rc, HK_OK);
    HK_CHECK_EQ(r.rbar, 0x10000006u);  /* AP=11, executable */
    HK_CHECK_EQ(r.rasr, 0x103FFFE1u);  /* limit, attr 0, EN */
    r = enc(HK_MPU_PMSAV8, 0x38001020u, 0x60, HK_MPU_RW, 3, &rc);
    HK_CHECK_EQ(rc, HK_OK);
    HK_CHECK_EQ(r.rbar, 0x38001023u);  /* AP=01, XN */
    HK_CHECK_EQ(r.rasr, 0x38001061u);
    r = enc(HK_MPU_PMSAV8, 0x40004000u, 0x1000, HK_MPU_PRIV_RW | HK_MPU_DEVICE, 1, &rc);
    HK_CHECK_EQ(rc, HK_OK);
    HK_CHECK_EQ(r.rbar, 0x40004001u);  /* AP=00, XN */
    HK_CHECK_EQ(r.rasr, 0x40004FE3u);  /* attr 1 (device) */
    r = enc(HK_MPU_PMSAV8, 0x38002000u, 32, HK_MPU_PRIV_R, 2, &rc);
    HK_CHECK_EQ(rc, HK_OK);
    HK_CHECK_EQ(r.rbar, 0x38002005u);  /* AP=10, XN */
    HK_CHECK_EQ(r.rasr, 0x38002001u);
    r = enc(HK_MPU_PMSAV8, 0x38000000u, 0x20, HK_MPU_RO, 15, &rc);
    HK_CHECK_EQ(rc, HK_OK);
    HK_CHECK_EQ(r.rbar, 0x38000007u);  /* AP=11, XN */
}

static void expect_reject(hk_mpu_arch_t arch, uintptr_t base, size_t size, uint32_t attr,
                          unsigned region, int code)
{
    hk_test_capture_errors();
    int rc;
    hk_mpu_region_t r = enc(arch, base, size, attr, region, &rc);
    HK_CHECK_EQ(rc, code);
    HK_CHECK_EQ(hk_test_errors.count, 1);
    HK_CHECK(hk_test_errors.last_reason != NULL);
    HK_CHECK_EQ(r.rbar, 0xdeadbeefu); /* untouched on error */
}

static void test_argument_rules(void)
{
    /* PMSAv7 size and alignment */
    expect_reject(HK_MPU_PMSAV7, 0x20000000u, 16, HK_MPU_RW, 0, HK_EINVAL);
    expect_reject(HK_MPU_PMSAV7, 0x20000000u, 100, HK_MPU_RW, 0, HK_EINVAL);
    expect_reject(HK_MPU_PMSAV7, 0x20000010u, 64, HK_MPU_RW, 0, HK_EINVAL);
    expect_reject(HK_MPU_PMSAV7, 0x20000100u, 3072, HK_MPU_RW, 0, HK_EINVAL); /* not 1/8s */
    expect_reject(HK_MPU_PMSAV7, 0x20000e00u, 1024, HK_MPU_RW, 0, HK_EINVAL); /* straddles */
    /* attributes */
    expect_reject(HK_MPU_PMSAV7, 0x20000000u, 32, HK_MPU_PRIV_R | HK_MPU_USER_R | HK_MPU_USER_W,
                  0, HK_EINVAL);
    expect_reject(HK_MPU_PMSAV7, 0x20000000u, 32, HK_MPU_PRIV_W, 0, HK_EINVAL);
    expect_reject(HK_MPU_PMSAV7, 0x40000000u, 32, HK_MPU_RX | HK_MPU_DEVICE, 0, HK_EINVAL);
    expect_reject(HK_MPU_PMSAV7, 0x20000000u, 32, HK_MPU_EXEC, 0, HK_EINVAL);
    expect_reject(HK_MPU_PMSAV7, 0x20000000u, 32, 0x100u, 0, HK_EINVAL);
    expect_reject(HK_MPU_PMSAV7, 0x20000000u, 32, HK_MPU_RW, 16, HK_ERANGE);
    /* PMSAv8 granules and the encodings it lacks */
    expect_reject(HK_MPU_PMSAV8, 0x38000010u, 64, HK_MPU_RW, 0, HK_EINVAL);
    expect_reject(HK_MPU_PMSAV8, 0x38000000u, 40, HK_MPU_RW, 0, HK_EINVAL);
    expect_reject(HK_MPU_PMSAV8, 0x38000000u, 0, HK_MPU_RW, 0, HK_EINVAL);
    expect_reject(HK_MPU_PMSAV8, 0x38000000u, 32, HK_MPU_NO_ACCESS, 0, HK_EINVAL);
    expect_reject(HK_MPU_PMSAV8, 0x38000000u, 32, HK_MPU_PRIV_RW_USER_RO, 0, HK_EINVAL);
    expect_reject(HK_MPU_PMSAV8, 0xffffffe0u, 64, HK_MPU_RW, 0, HK_EINVAL); /* past 4 GiB */
    expect_reject((hk_mpu_arch_t)6, 0x20000000u, 32, HK_MPU_RW, 0, HK_EINVAL);
    hk_test_capture_errors();
    hk_mpu_region_t r;
    HK_CHECK_EQ(hk_mpu_encode(HK_MPU_PMSAV7, NULL, 0, &r), HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.count, 1);
}

static const hk_mpu_partition_t flash7 = P(0x00000000u, 4u << 20, HK_MPU_RX);
static const hk_mpu_partition_t table7 = P(0x20000100u, 256, HK_MPU_RO);

static void test_domains_v7(void)
{
    hk_test_capture_errors();
    const hk_mpu_partition_t *fixed[] = { &flash7, &table7 };
    hk_mpu_t mpu;
    HK_REQUIRE(hk_mpu_init(&mpu, HK_MPU_PMSAV7, 8, fixed, 2) == HK_OK);
    HK_CHECK_EQ(mpu.fixed_regs[1].rbar, 0x20000111u);
    hk_mpu_domain_t d;
    HK_REQUIRE(hk_mpu_domain_init(&d, &mpu, "a") == HK_OK);
    hk_mpu_partition_t stack = P(0x20000400u, 1024, HK_MPU_RW);
    hk_mpu_partition_t guard = P(0x20000400u, 128, HK_MPU_NO_ACCESS);
    hk_mpu_partition_t partial = P(0x20000600u, 1024, HK_MPU_RW);
    hk_mpu_partition_t over_fixed = P(0x20000000u, 1024, HK_MPU_RW); /* covers table7 */
    HK_CHECK_EQ(hk_mpu_domain_add(&d, &stack), HK_OK);
    HK_CHECK_EQ(d.regs[0].rbar, 0x20000412u); /* region 2: after the fixed ones */
    HK_CHECK_EQ(hk_mpu_domain_add(&d, &guard), HK_OK); /* nested, later: allowed */
    HK_CHECK_EQ(d.regs[1].rbar, 0x20000413u);
    HK_CHECK(hk_mpu_domain_find(&d, 0x20000410u) == &guard); /* the later one wins */
    HK_CHECK(hk_mpu_domain_find(&d, 0x20000500u) == &stack);
    HK_CHECK(hk_mpu_domain_find(&d, 0x100u) == &flash7);
    HK_CHECK(hk_mpu_domain_find(&d, 0x30000000u) == NULL);
    HK_CHECK_EQ(hk_test_errors.count, 0);
    HK_CHECK_EQ(hk_mpu_domain_add(&d, &partial), HK_EOVERLAP);
    HK_CHECK_EQ(hk_mpu_domain_add(&d, &guard), HK_EINVAL); /* already there */
    HK_CHECK_EQ(hk_mpu_domain_add(&d, &over_fixed), HK_OK);
    HK_CHECK_EQ(d.count, 3);
    /* the outer one after the inner one would hide it: rejected */
    hk_mpu_domain_t e;
    HK_REQUIRE(hk_mpu_domain_init(&e, &mpu, "e") == HK_OK);
    HK_CHECK_EQ(hk_mpu_domain_add(&e, &guard), HK_OK);
    HK_CHECK_EQ(hk_mpu_domain_add(&e, &stack), HK_EOVERLAP);
    HK_CHECK_EQ(e.count, 1);
    /* region budget: 8 regions - 2 fixed = 6 */
    hk_mpu_partition_t many[7];
    for (unsigned i = 0; i < 7; i++) {
        hk_mpu_partition_t p = P(0x20010000u + i * 0x100u, 256, HK_MPU_RW);
        many[i] = p;
    }
    for (unsigned i = 0; i < 5; i++)
        HK_CHECK_EQ(hk_mpu_domain_add(&e, &many[i]), HK_OK);
    unsigned before = hk_test_errors.count;
    HK_CHECK_EQ(hk_mpu_domain_add(&e, &many[5]), HK_ERANGE);
    HK_CHECK_EQ(hk_test_errors.count, before + 1);
    HK_CHECK_EQ(e.count, 6);
    /* removal moves the later partitions down one region */
    HK_CHECK_EQ(hk_mpu_domain_remove(&e, &many[1]), HK_OK);
    HK_CHECK_EQ(e.count, 5);
    HK_CHECK(e.parts[2] == &many[2]);
    HK_CHECK_EQ(e.regs[2].rbar, 0x20010210u | 4u);
    HK_CHECK_EQ(e.regs[5].rbar, 0);
    HK_CHECK_EQ(hk_mpu_domain_remove(&e, &many[1]), HK_EINVAL);
    HK_CHECK_EQ(hk_mpu_domain_add(&e, &many[6]), HK_OK);
    HK_CHECK_EQ(e.regs[5].rbar, 0x20010610u | 7u);
}

static const hk_mpu_partition_t flash8 = P(0x10000000u, 4u << 20, HK_MPU_RX);
static const hk_mpu_partition_t table8 = P(0x38000100u, 256, HK_MPU_RO);

static void test_domains_v8(void)
{
    hk_test_capture_errors();
    const hk_mpu_partition_t *fixed[] = { &flash8, &table8 };
    hk_mpu_t mpu;
    HK_REQUIRE(hk_mpu_init(&mpu, HK_MPU_PMSAV8, 16, fixed, 2) == HK_OK);
    hk_mpu_domain_t d;
    HK_REQUIRE(hk_mpu_domain_init(&d, &mpu, "b") == HK_OK);
    hk_mpu_partition_t guard = P(0x38000400u, 64, HK_MPU_PRIV_R);
    hk_mpu_partition_t stack = P(0x38000440u, 960, HK_MPU_RW);
    hk_mpu_partition_t inside = P(0x38000500u, 64, HK_MPU_RO);
    hk_mpu_partition_t over_fixed = P(0x380001e0u, 64, HK_MPU_RW);
    HK_CHECK_EQ(hk_mpu_domain_add(&d, &guard), HK_OK);
    HK_CHECK_EQ(hk_mpu_domain_add(&d, &stack), HK_OK); /* adjacent: fine */
    HK_CHECK_EQ(d.regs[1].rasr, 0x380007e1u);
    HK_CHECK_EQ(hk_test_errors.count, 0);
    HK_CHECK_EQ(hk_mpu_domain_add(&d, &inside), HK_EOVERLAP); /* no nesting on v8 */
    HK_CHECK_EQ(hk_mpu_domain_add(&d, &over_fixed), HK_EOVERLAP);
    HK_CHECK_EQ(d.count, 2);
    HK_CHECK_EQ(hk_test_errors.count, 2);
    /* fixed partitions may not overlap each other either */
    const hk_mpu_partition_t *bad[] = { &table8, &over_fixed };
    hk_mpu_t m2;
    HK_CHECK_EQ(hk_mpu_init(&m2, HK_MPU_PMSAV8, 16, bad, 2), HK_EOVERLAP);
    HK_CHECK_EQ(hk_mpu_init(&m2, HK_MPU_PMSAV7, 17, NULL, 0), HK_ERANGE);
    HK_CHECK_EQ(hk_mpu_init(&m2, HK_MPU_PMSAV7, 0, NULL, 0), HK_ERANGE);
    HK_CHECK_EQ(hk_mpu_init(NULL, HK_MPU_PMSAV7, 8, NULL, 0), HK_EINVAL);
}

/* hk_mpu_load writes the registers in order; with the MPU's regions equal to
 * fixed + domain partitions, the last writes are the domain's last region. */
static HK_MPU_PARTITION_DEFINE(uart0, 0x40004000u, 0x1000, HK_MPU_RW | HK_MPU_DEVICE);
static hk_mpu_t static_mpu;
static HK_MPU_DOMAIN_DEFINE(static_dom, &static_mpu, "static");

static void test_static_definitions(void)
{
    hk_test_capture_errors();
    HK_CHECK(uart0.name[0] == 'u' && uart0.name[4] == '0' && uart0.size == 0x1000);
    HK_REQUIRE(hk_mpu_init(&static_mpu, HK_MPU_PMSAV7, 8, NULL, 0) == HK_OK);
    HK_CHECK_EQ(static_dom.count, 0);
    HK_CHECK_EQ(hk_mpu_domain_add(&static_dom, &uart0), HK_OK);
    HK_CHECK_EQ(static_dom.regs[0].rbar, 0x40004010u); /* region 0: no fixed partitions */
    HK_CHECK_EQ(static_dom.regs[0].rasr, 0x13050017u);
    HK_CHECK_EQ(hk_mpu_domain_remove(&static_dom, &uart0), HK_OK);
    HK_CHECK_EQ(static_dom.count, 0);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_load(void)
{
    hk_test_capture_errors();
    volatile uint32_t regs[8] = { 0 };
    const hk_mpu_partition_t *fixed[] = { &flash7 };
    hk_mpu_t mpu;
    HK_REQUIRE(hk_mpu_init(&mpu, HK_MPU_PMSAV7, 3, fixed, 1) == HK_OK);
    hk_mpu_domain_t d;
    hk_mpu_domain_init(&d, &mpu, "d");
    hk_mpu_partition_t a = P(0x20000000u, 256, HK_MPU_RW), b = P(0x20000400u, 1024, HK_MPU_RO);
    HK_CHECK_EQ(hk_mpu_domain_add(&d, &a), HK_OK);
    HK_CHECK_EQ(hk_mpu_domain_add(&d, &b), HK_OK);
    HK_CHECK_EQ(hk_mpu_load(regs, &mpu, &d, 3), 3);
    HK_CHECK_EQ(regs[3], 0x20000412u);
    HK_CHECK_EQ(regs[4], 0x160B0013u);
    HK_CHECK_EQ(regs[2], 0); /* PMSAv7 never needs RNR */
    HK_CHECK_EQ(hk_mpu_load(regs, &mpu, NULL, 3), 1);
    HK_CHECK_EQ(regs[3], 0x12u); /* region 2 disabled last */
    HK_CHECK_EQ(regs[4], 0);
    regs[3] = regs[4] = 0x5a5a5a5au;
    HK_CHECK_EQ(hk_mpu_load(regs, &mpu, NULL, 1), 1); /* nothing stale: no write */
    HK_CHECK_EQ(regs[3], 0x5a5a5a5au);
    hk_mpu_domain_remove(&d, &b);
    HK_CHECK_EQ(hk_mpu_load(regs, &mpu, &d, 3), 2); /* a, then region 2 disabled */
    HK_CHECK_EQ(regs[3], 0x12u);
    HK_CHECK_EQ(regs[4], 0);

    const hk_mpu_partition_t *fixed8[] = { &flash8 };
    HK_REQUIRE(hk_mpu_init(&mpu, HK_MPU_PMSAV8, 2, fixed8, 1) == HK_OK);
    hk_mpu_domain_init(&d, &mpu, "d8");
    hk_mpu_partition_t c = P(0x38000000u, 0x120, HK_MPU_RW);
    HK_CHECK_EQ(hk_mpu_domain_add(&d, &c), HK_OK);
    HK_CHECK_EQ(hk_mpu_load(regs, &mpu, &d, 2), 2);
    HK_CHECK_EQ(regs[2], 1);
    HK_CHECK_EQ(regs[3], 0x38000003u);
    HK_CHECK_EQ(regs[4], 0x38000101u);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_fault_decode(void)
{
    hk_mpu_t mpu;
    const hk_mpu_partition_t *fixed[] = { &flash7, &table7 };
    HK_REQUIRE(hk_mpu_init(&mpu, HK_MPU_PMSAV7, 8, fixed, 2) == HK_OK);
    hk_mpu_domain_t a, b;
    hk_mpu_domain_init(&a, &mpu, "a");
    hk_mpu_domain_init(&b, &mpu, "b");
    hk_mpu_partition_t heap_a = P(0x20004000u, 4096, HK_MPU_RW);
    hk_mpu_partition_t heap_b = P(0x20008000u, 4096, HK_MPU_RW);
    hk_mpu_partition_t guard_b = P(0x20009000u, 32, HK_MPU_NO_ACCESS);
    hk_mpu_domain_add(&a, &heap_a);
    hk_mpu_domain_add(&b, &heap_b);
    hk_mpu_domain_add(&b, &guard_b);
    const hk_mpu_domain_t *all[] = { &a, &b };
    hk_mpu_fault_t f;
    /* b writes into a's heap: DACCVIOL + MMARVALID */
    hk_mpu_fault_decode(0x82u, 0x20004010u, 0, 0x1234u, 0x20009100u, &b, all, 2, &f);
    HK_CHECK_EQ(f.cause, HK_MPU_FAULT_DATA);
    HK_CHECK(f.addr_valid);
    HK_CHECK_EQ(f.addr, 0x20004010u);
    HK_CHECK(f.part == &heap_a);
    HK_CHECK(f.domain == &a);
    /* a read-only fixed partition */
    hk_mpu_fault_decode(0x82u, 0x20000104u, 0, 0, 0, &b, all, 2, &f);
    HK_CHECK(f.part == &table7);
    HK_CHECK(f.domain == NULL);
    /* executing from b's heap: IACCVIOL, the pc is the address */
    hk_mpu_fault_decode(0x01u, 0, 0, 0x20008020u, 0, &b, all, 2, &f);
    HK_CHECK_EQ(f.cause, HK_MPU_FAULT_EXEC);
    HK_CHECK_EQ(f.addr, 0x20008020u);
    HK_CHECK(f.part == &heap_b && f.domain == &b);
    /* stacking into b's guard: no MMFAR, the stack pointer locates it */
    hk_mpu_fault_decode(0x10u, 0x11111111u, 0, 0, 0x20009004u, &b, all, 2, &f);
    HK_CHECK_EQ(f.cause, HK_MPU_FAULT_STACKING);
    HK_CHECK(!f.addr_valid);
    HK_CHECK(f.part == &guard_b);
    /* a push into the guard: DACCVIOL with MMFAR, then the stacking failed */
    hk_mpu_fault_decode(0x92u, 0x2000901cu, 0, 0, 0x20009000u, &b, all, 2, &f);
    HK_CHECK_EQ(f.cause, HK_MPU_FAULT_DATA);
    HK_CHECK(f.addr_valid && f.addr == 0x2000901cu);
    HK_CHECK(f.part == &guard_b && f.domain == &b);
    /* bus fault with BFAR, usage fault, stack limit, nothing */
    hk_mpu_fault_decode(0x8200u, 0, 0x40000000u, 0, 0, &a, all, 2, &f);
    HK_CHECK_EQ(f.cause, HK_MPU_FAULT_BUS);
    HK_CHECK_EQ(f.addr, 0x40000000u);
    HK_CHECK(f.part == NULL);
    hk_mpu_fault_decode(0x400u, 0, 0, 0x100u, 0x20004100u, &a, all, 2, &f); /* imprecise */
    HK_CHECK_EQ(f.cause, HK_MPU_FAULT_BUS);
    HK_CHECK(!f.addr_valid && f.part == NULL);
    hk_mpu_fault_decode(0x1000u, 0, 0, 0, 0x20004100u, &a, all, 2, &f); /* stacking */
    HK_CHECK(f.part == &heap_a);
    hk_mpu_fault_decode(0x10000u, 0, 0, 0x100u, 0, &a, all, 2, &f);
    HK_CHECK_EQ(f.cause, HK_MPU_FAULT_USAGE);
    HK_CHECK(f.addr_valid && f.addr == 0x100u);
    HK_CHECK(f.part == &flash7);
    hk_mpu_fault_decode(0x100000u, 0, 0, 0, 0x20008ff0u, &b, all, 2, &f);
    HK_CHECK_EQ(f.cause, HK_MPU_FAULT_STACK_LIMIT);
    hk_mpu_fault_decode(0, 0, 0, 0, 0, NULL, NULL, 0, &f);
    HK_CHECK_EQ(f.cause, HK_MPU_FAULT_NONE);
    HK_CHECK(f.part == NULL);
    HK_CHECK(hk_mpu_cause_name(HK_MPU_FAULT_DATA)[0] == 'd');
}

/* hk_mpu_fit's result is always encodable, contained and big enough. */
static void test_fit(void)
{
    hk_test_capture_errors();
    hk_mpu_partition_t p;
    HK_REQUIRE(hk_mpu_fit(HK_MPU_PMSAV7, (void *)0x20000404u, 0x10000, 3000, HK_MPU_RW, &p)
               == HK_OK);
    HK_CHECK_EQ((uintptr_t)p.base, 0x20000800u); /* an 8 KiB region's 1 KiB subregions */
    HK_CHECK_EQ(p.size, 3072);
    hk_rng_t rng;
    hk_rng_seed(&rng, 14);
    for (unsigned i = 0; i < 300; i++) {
        hk_mpu_arch_t arch = i & 1u ? HK_MPU_PMSAV8 : HK_MPU_PMSAV7;
        uintptr_t mem = 0x20000000u + (uintptr_t)hk_rng_below(&rng, 0x10000) * 4u;
        size_t want = 1 + (size_t)hk_rng_below(&rng, 20000);
        if (hk_mpu_fit(arch, (void *)mem, 0x100000, want, HK_MPU_RW, &p) != HK_OK) {
            HK_CHECK(0);
            continue;
        }
        hk_mpu_region_t r;
        HK_CHECK_EQ(hk_mpu_encode(arch, &p, 0, &r), HK_OK);
        HK_CHECK((uintptr_t)p.base >= mem && (uintptr_t)p.base + p.size <= mem + 0x100000);
        HK_CHECK(p.size >= want);
        HK_CHECK(p.size <= 2 * want + 64 || p.size == 256); /* never wildly larger */
    }
    HK_CHECK_EQ(hk_test_errors.count, 0);
    HK_CHECK_EQ(hk_mpu_fit(HK_MPU_PMSAV7, (void *)0x20000404u, 1000, 3000, HK_MPU_RW, &p),
                HK_ENOMEM);
    HK_CHECK_EQ(hk_mpu_fit(HK_MPU_PMSAV8, NULL, 1000, 30, HK_MPU_RW, &p), HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.count, 2);
}

static bool addr32(const void *p, size_t n)
{
    return (uint64_t)(uintptr_t)p + n <= 0xffffffffull;
}

static void test_heap_pool_partitions(void)
{
    hk_test_capture_errors();
    size_t asz;
    unsigned char *mem = hk_test_arena(&asz);
    for (int a = 7; a <= 8; a++) {
        hk_mpu_arch_t arch = (hk_mpu_arch_t)a;
        hk_mpu_partition_t part;
        hk_heap_t *h = hk_mpu_heap_init(&part, arch, mem + 4, 64 * 1024, 5000, HK_MPU_RW, "heap",
                                        NULL);
        HK_REQUIRE(h != NULL);
        HK_CHECK_EQ(part.name[0], 'h');
        HK_CHECK(part.size >= 5000);
        unsigned char *lo = part.base, *hi = lo + part.size;
        HK_CHECK((unsigned char *)h >= lo && (unsigned char *)h < hi);
        for (int i = 0; i < 20; i++) {
            unsigned char *q = hk_heap_alloc(h, 100);
            HK_REQUIRE(q != NULL);
            HK_CHECK(q >= lo && q + 100 <= hi); /* every block inside the partition */
        }
        HK_CHECK_EQ(hk_heap_validate(h), HK_OK);
        hk_mpu_region_t r;
        if (addr32(lo, part.size))
            HK_CHECK_EQ(hk_mpu_encode(arch, &part, 3, &r), HK_OK);

        hk_pool_t *pool = hk_mpu_pool_init(&part, arch, mem + 100000, 64 * 1024, 2000, 48, 8,
                                           HK_MPU_RW, "pool");
        HK_REQUIRE(pool != NULL);
        lo = part.base;
        hi = lo + part.size;
        HK_CHECK((unsigned char *)pool >= lo && (unsigned char *)(pool + 1) <= hi);
        unsigned n = 0;
        for (unsigned char *q; (q = hk_pool_alloc(pool)) != NULL; n++)
            HK_CHECK(q >= lo && q + 48 <= hi);
        HK_CHECK(n >= 30);
        HK_CHECK_EQ(hk_pool_validate(pool), HK_OK);
    }
    HK_CHECK_EQ(hk_test_errors.count, 0);
    hk_mpu_partition_t part;
    HK_CHECK(hk_mpu_heap_init(&part, HK_MPU_PMSAV7, mem, 1000, 5000, HK_MPU_RW, "x", NULL) == NULL);
    HK_CHECK_EQ(hk_test_errors.count, 1);
}

static void test_stack_guards(void)
{
    hk_test_capture_errors();
    size_t asz;
    unsigned char *mem = hk_test_arena(&asz);
    hk_mpu_stacks_t s;
    HK_REQUIRE(hk_mpu_stacks_init(&s, HK_MPU_PMSAV7, mem + 8, 8 * 1024, 1024, 128, NULL) == HK_OK);
    HK_CHECK_EQ(hk_stack_size(&s.pool), 896);
    hk_mpu_partition_t st, gd, st2, gd2;
    unsigned char *a = hk_mpu_stack_acquire(&s, &st, &gd, "t1");
    unsigned char *b = hk_mpu_stack_acquire(&s, &st2, &gd2, "t2");
    HK_REQUIRE(a != NULL && b != NULL);
    HK_CHECK_EQ(((uintptr_t)a - 128u) % 1024u, 0);   /* block aligned to its size */
    HK_CHECK(st.base == a && st.size == 896 && st.attr == HK_MPU_RW);
    HK_CHECK((unsigned char *)gd.base == a - 128 && gd.size == 128);
    HK_CHECK_EQ(gd.attr, HK_MPU_NO_ACCESS);
    HK_CHECK(hk_stack_top(&s.pool, a) == a + 896);
    HK_CHECK(b >= a + 896 || b + 896 <= a - 128); /* blocks do not share memory */
    if (addr32(a, 1024)) {
        hk_mpu_region_t r;
        HK_CHECK_EQ(hk_mpu_encode(HK_MPU_PMSAV7, &st, 2, &r), HK_OK);
        HK_CHECK_EQ(r.rasr & 0xff00u, 0x0100u); /* subregion 0 (the guard) disabled */
        HK_CHECK_EQ(hk_mpu_encode(HK_MPU_PMSAV7, &gd, 3, &r), HK_OK);
    }
    HK_CHECK_EQ(hk_mpu_stacks_init(&s, HK_MPU_PMSAV8, mem + 8, 8 * 1024, 1024, 96, NULL), HK_OK);
    a = hk_mpu_stack_acquire(&s, &st, &gd, "t3");
    HK_REQUIRE(a != NULL);
    HK_CHECK_EQ((uintptr_t)gd.base % 32u, 0);
    HK_CHECK_EQ(gd.attr, HK_MPU_PRIV_R);
    HK_CHECK_EQ(st.size, 1024 - 96);
    HK_CHECK_EQ(hk_test_errors.count, 0);
    HK_CHECK_EQ(hk_mpu_stacks_init(&s, HK_MPU_PMSAV7, mem, 8192, 1000, 128, NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_mpu_stacks_init(&s, HK_MPU_PMSAV7, mem, 8192, 1024, 100, NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_mpu_stacks_init(&s, HK_MPU_PMSAV7, mem, 8192, 1024, 1024, NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_mpu_stacks_init(&s, HK_MPU_PMSAV8, mem, 8192, 1024, 48, NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.count, 4);
}

HK_SUITE(mpu)
{
    HK_RUN(test_v7_encodings);
    HK_RUN(test_v8_encodings);
    HK_RUN(test_argument_rules);
    HK_RUN(test_domains_v7);
    HK_RUN(test_domains_v8);
    HK_RUN(test_static_definitions);
    HK_RUN(test_load);
    HK_RUN(test_fault_decode);
    HK_RUN(test_fit);
    HK_RUN(test_heap_pool_partitions);
    HK_RUN(test_stack_guards);
}
