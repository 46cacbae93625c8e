// SPDX-License-Identifier: GPL-2.0
/*
 * espx_async: a test-only module that makes the AEADs espx uses
 * asynchronous (selftests/async.sh). It registers, at a priority above
 * every other implementation,
 *
 *   rfc4106(gcm(aes)), rfc7539esp(chacha20,poly1305)   (plain ESP SAs,
 *                                          under espx's seqiv template)
 *   gcm(aes), rfc7539(chacha20,poly1305)   (WESPv2, counter and Diet SAs)
 *
 * each wrapping the kernel's synchronous implementation of the same name.
 * Every encrypt and decrypt returns -EINPROGRESS and is done by a work item
 * on the submitting CPU's workqueue, which completes the request with
 * bottom halves off (as cryptd does): the callers' asynchronous completion
 * paths run for every packet.
 *
 * The parameter "stats" (read-only) says per algorithm how many requests
 * completed, how many of those the child failed, and how many were refused
 * (in all, then encryptions and decryptions apart);
 * "inflight" how many are queued now. "refuse_every" = N refuses every Nth
 * encryption and every Nth decryption (counted apart, so that both
 * directions see refusals however they interleave) that may not be
 * backlogged with -ENOSPC (a full queue), without queueing it; 0 (the
 * default) refuses none.
 *
 * The module cannot be unloaded while a transform exists: every queued
 * request belongs to one (through the caller's object), and exit destroys
 * the workqueue, which waits for a work item still returning.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/workqueue.h>
#include <linux/bottom_half.h>
#include <linux/atomic.h>
#include <crypto/aead.h>
#include <crypto/internal/aead.h>

struct ea_alg {
	const char *name;
	const char *driver;
	struct aead_alg alg;
	atomic64_t enc, dec, failed, refused;
	atomic64_t refused_dir[2];	/* [0] decryptions, [1] encryptions */
	bool registered;
};

struct ea_ctx {
	struct crypto_aead *child;
};

struct ea_req {
	struct work_struct work;
	struct aead_request *req;
	struct ea_alg *ea;
	bool enc;
	struct aead_request sub;	/* last: the child's context follows */
};

static struct ea_alg ea_algs[] = {
	/* the plain ones first: the ESP templates' children are then made
	 * after every registration
	 */
	{ "gcm(aes)", "espx-async-gcm-aes" },
	{ "rfc7539(chacha20,poly1305)", "espx-async-rfc7539-chacha20-poly1305" },
	{ "rfc4106(gcm(aes))", "espx-async-rfc4106-gcm-aes" },
	{ "rfc7539esp(chacha20,poly1305)", "espx-async-rfc7539esp-chacha20-poly1305" },
};

static struct workqueue_struct *ea_wq;
static atomic_t ea_inflight = ATOMIC_INIT(0);
static atomic_t ea_seq[2];	/* requests so far: [0] decryptions, [1] encryptions */

static unsigned int refuse_every;
module_param(refuse_every, uint, 0644);
MODULE_PARM_DESC(refuse_every, "refuse every Nth request with -ENOSPC (0: none)");

static int ea_stats_get(char *buf, const struct kernel_param *kp)
{
	struct ea_alg *ea;
	int i, n = 0;

	for (i = 0; i < ARRAY_SIZE(ea_algs); i++) {
		ea = &ea_algs[i];
		n += scnprintf(buf + n, PAGE_SIZE - n,
			       "%s enc %lld dec %lld failed %lld refused %lld refused_enc %lld refused_dec %lld\n",
			       ea->driver, atomic64_read(&ea->enc),
			       atomic64_read(&ea->dec),
			       atomic64_read(&ea->failed),
			       atomic64_read(&ea->refused),
			       atomic64_read(&ea->refused_dir[1]),
			       atomic64_read(&ea->refused_dir[0]));
	}
	return n;
}

static const struct kernel_param_ops ea_stats_ops = {
	.get = ea_stats_get,
};
module_param_cb(stats, &ea_stats_ops, NULL, 0444);
MODULE_PARM_DESC(stats, "per algorithm: completed encryptions, decryptions, child failures, refusals (all, encryptions, decryptions)");

static int ea_inflight_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%d\n", atomic_read(&ea_inflight));
}

static const struct kernel_param_ops ea_inflight_ops = {
	.get = ea_inflight_get,
};
module_param_cb(inflight, &ea_inflight_ops, NULL, 0444);
MODULE_PARM_DESC(inflight, "requests queued and not completed yet");

static struct ea_alg *ea_of(struct crypto_aead *tfm)
{
	return container_of(crypto_aead_alg(tfm), struct ea_alg, alg);
}

static void ea_work(struct work_struct *work)
{
	struct ea_req *r = container_of(work, struct ea_req, work);
	struct aead_request *req = r->req;
	int err;

	err = r->enc ? crypto_aead_encrypt(&r->sub) :
		       crypto_aead_decrypt(&r->sub);
	atomic64_inc(r->enc ? &r->ea->enc : &r->ea->dec);
	if (err)
		atomic64_inc(&r->ea->failed);
	atomic_dec(&ea_inflight);
	/* a completion runs in softirq context, or at least with BHs off */
	local_bh_disable();
	aead_request_complete(req, err);
	local_bh_enable();
}

static int ea_queue(struct aead_request *req, bool enc)
{
	struct crypto_aead *tfm = crypto_aead_reqtfm(req);
	struct ea_ctx *ctx = crypto_aead_ctx(tfm);
	struct ea_req *r = aead_request_ctx(req);
	unsigned int every = READ_ONCE(refuse_every);

	if (every && !(req->base.flags & CRYPTO_TFM_REQ_MAY_BACKLOG) &&
	    !((unsigned int)atomic_inc_return(&ea_seq[enc]) % every)) {
		atomic64_inc(&ea_of(tfm)->refused);
		atomic64_inc(&ea_of(tfm)->refused_dir[enc]);
		return -ENOSPC;
	}

	r->req = req;
	r->ea = ea_of(tfm);
	r->enc = enc;
	aead_request_set_tfm(&r->sub, ctx->child);
	/* the child is synchronous and runs in the work item */
	aead_request_set_callback(&r->sub, 0, NULL, NULL);
	aead_request_set_crypt(&r->sub, req->src, req->dst, req->cryptlen,
			       req->iv);
	aead_request_set_ad(&r->sub, req->assoclen);
	INIT_WORK(&r->work, ea_work);
	atomic_inc(&ea_inflight);
	queue_work(ea_wq, &r->work);
	return -EINPROGRESS;
}

static int ea_encrypt(struct aead_request *req)
{
	return ea_queue(req, true);
}

static int ea_decrypt(struct aead_request *req)
{
	return ea_queue(req, false);
}

static int ea_setkey(struct crypto_aead *tfm, const u8 *key,
		     unsigned int keylen)
{
	struct crypto_aead *child = ((struct ea_ctx *)crypto_aead_ctx(tfm))->child;

	crypto_aead_clear_flags(child, CRYPTO_TFM_REQ_MASK);
	crypto_aead_set_flags(child, crypto_aead_get_flags(tfm) &
			      CRYPTO_TFM_REQ_MASK);
	return crypto_aead_setkey(child, key, keylen);
}

static int ea_setauthsize(struct crypto_aead *tfm, unsigned int authsize)
{
	struct ea_ctx *ctx = crypto_aead_ctx(tfm);

	return crypto_aead_setauthsize(ctx->child, authsize);
}

/* CRYPTO_ALG_ASYNC in the mask: a synchronous implementation, never ours */
static int ea_init_tfm(struct crypto_aead *tfm)
{
	struct ea_ctx *ctx = crypto_aead_ctx(tfm);
	struct crypto_aead *child;

	child = crypto_alloc_aead(ea_of(tfm)->name, 0, CRYPTO_ALG_ASYNC);
	if (IS_ERR(child))
		return PTR_ERR(child);
	ctx->child = child;
	crypto_aead_set_reqsize(tfm, sizeof(struct ea_req) +
				crypto_aead_reqsize(child));
	return 0;
}

static void ea_exit_tfm(struct crypto_aead *tfm)
{
	struct ea_ctx *ctx = crypto_aead_ctx(tfm);

	crypto_free_aead(ctx->child);
}

/* The sizes of the synchronous implementation, ours then matches it. */
static int ea_fill(struct ea_alg *ea)
{
	struct aead_alg *a = &ea->alg;
	struct crypto_aead *child;

	child = crypto_alloc_aead(ea->name, 0, CRYPTO_ALG_ASYNC);
	if (IS_ERR(child)) {
		pr_err("no synchronous %s: %ld\n", ea->name, PTR_ERR(child));
		return PTR_ERR(child);
	}
	a->ivsize = crypto_aead_ivsize(child);
	a->maxauthsize = crypto_aead_maxauthsize(child);
	a->chunksize = crypto_aead_chunksize(child);
	a->base.cra_blocksize = crypto_aead_blocksize(child);
	crypto_free_aead(child);

	a->setkey = ea_setkey;
	a->setauthsize = ea_setauthsize;
	a->encrypt = ea_encrypt;
	a->decrypt = ea_decrypt;
	a->init = ea_init_tfm;
	a->exit = ea_exit_tfm;
	strscpy(a->base.cra_name, ea->name, sizeof(a->base.cra_name));
	strscpy(a->base.cra_driver_name, ea->driver,
		sizeof(a->base.cra_driver_name));
	a->base.cra_priority = 10000;
	a->base.cra_flags = CRYPTO_ALG_ASYNC;
	a->base.cra_ctxsize = sizeof(struct ea_ctx);
	a->base.cra_module = THIS_MODULE;
	return 0;
}

static void ea_unregister(void)
{
	int i;

	for (i = ARRAY_SIZE(ea_algs) - 1; i >= 0; i--) {
		if (!ea_algs[i].registered)
			continue;
		crypto_unregister_aead(&ea_algs[i].alg);
		ea_algs[i].registered = false;
	}
}

static int __init ea_init(void)
{
	int i, err;

	ea_wq = alloc_workqueue("espx_async", 0, 0);
	if (!ea_wq)
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(ea_algs); i++) {
		err = ea_fill(&ea_algs[i]);
		if (!err)
			err = crypto_register_aead(&ea_algs[i].alg);
		if (err) {
			pr_err("cannot register %s: %d\n", ea_algs[i].driver,
			       err);
			ea_unregister();
			destroy_workqueue(ea_wq);
			return err;
		}
		ea_algs[i].registered = true;
	}
	return 0;
}

static void __exit ea_exit(void)
{
	ea_unregister();
	destroy_workqueue(ea_wq);
}

module_init(ea_init);
module_exit(ea_exit);
MODULE_DESCRIPTION("espx selftest: asynchronous wrappers of the AEADs espx uses");
MODULE_LICENSE("GPL");
