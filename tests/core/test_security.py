from taihu.core import hash_password, hash_token, new_token, sign, verify_password, verify_signature


def test_password_hashes_verify_and_differ() -> None:
    first, second = hash_password("s3cret-pass"), hash_password("s3cret-pass")
    assert first != second  # salted
    assert first.startswith("$argon2id$")
    assert verify_password(first, "s3cret-pass")
    assert not verify_password(first, "s3cret-pasS")
    assert not verify_password(None, "s3cret-pass")
    assert not verify_password("not a hash", "s3cret-pass")


def test_tokens_are_random_and_only_their_hash_is_kept() -> None:
    plain, digest = new_token("thu")
    other, _ = new_token("thu")
    assert plain.startswith("thu_")
    assert plain != other
    assert len(plain) > 40
    assert digest == hash_token(plain)
    assert plain not in digest


def test_signatures() -> None:
    key = b"k" * 32
    signature = sign(key, "nonce")
    assert verify_signature(key, "nonce", signature)
    assert not verify_signature(key, "nonce2", signature)
    assert not verify_signature(b"j" * 32, "nonce", signature)
