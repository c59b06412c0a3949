"""The S3 engine auditfs ships to, checked on its own: radosgw 16.2.15 (the
`radosgw` fixture, a real single-host Ceph cluster) enforces the S3 Object
Lock rules auditfs relies on. Talks S3 with boto3 only, so these tests need
neither the auditfs binary nor its Swift S3 client."""
import base64
import datetime
import hashlib

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def refused(call, **kw):
    """(error code, HTTP status) of a request that must be refused."""
    with pytest.raises(ClientError) as e:
        call(**kw)
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def md5(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def put_locked(s3, bucket, key, body, days=1):
    until = now() + datetime.timedelta(days=days)
    r = s3.put_object(Bucket=bucket, Key=key, Body=body, ContentMD5=md5(body),
                      ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)
    return r["VersionId"], until


def test_a_lock_bucket_is_versioned_and_versioning_cannot_be_suspended(radosgw):
    s3, b = radosgw.s3(), radosgw.make_bucket()
    assert s3.get_object_lock_configuration(Bucket=b)["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Enabled"
    assert refused(s3.put_bucket_versioning, Bucket=b,
                   VersioningConfiguration={"Status": "Suspended"}) == ("InvalidBucketState", 409)
    assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Enabled"


def test_a_compliance_locked_version_cannot_be_deleted_in_any_way(radosgw):
    s3, b = radosgw.s3(), radosgw.make_bucket()
    vid, until = put_locked(s3, b, "seg/0001", b"segment one")
    r = s3.get_object_retention(Bucket=b, Key="seg/0001", VersionId=vid)["Retention"]
    assert r["Mode"] == "COMPLIANCE" and r["RetainUntilDate"] == until
    assert refused(s3.delete_object, Bucket=b, Key="seg/0001", VersionId=vid) == ("AccessDenied", 403)
    assert refused(s3.delete_object, Bucket=b, Key="seg/0001", VersionId=vid,
                   BypassGovernanceRetention=True) == ("AccessDenied", 403)
    # Multi-object delete answers 200 and lists the refusal per key.
    for bypass in (False, True):
        out = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "seg/0001", "VersionId": vid}]},
                                BypassGovernanceRetention=bypass)
        assert out.get("Deleted", []) == []
        assert [(e["Key"], e["VersionId"], e["Code"]) for e in out["Errors"]] == [("seg/0001", vid, "AccessDenied")]
    assert s3.get_object(Bucket=b, Key="seg/0001", VersionId=vid)["Body"].read() == b"segment one"
    # An unlocked version in the same bucket is deletable: the refusals above are the lock's.
    plain = s3.put_object(Bucket=b, Key="plain", Body=b"x")["VersionId"]
    s3.delete_object(Bucket=b, Key="plain", VersionId=plain)
    assert "Versions" not in s3.list_object_versions(Bucket=b, Prefix="plain")


def test_compliance_retention_can_be_extended_but_not_shortened_or_weakened(radosgw):
    s3, b = radosgw.s3(), radosgw.make_bucket()
    vid, until = put_locked(s3, b, "seg", b"bytes")
    shorter = {"Mode": "COMPLIANCE", "RetainUntilDate": until - datetime.timedelta(hours=1)}
    assert refused(s3.put_object_retention, Bucket=b, Key="seg", VersionId=vid, Retention=shorter) \
        == ("AccessDenied", 403)
    assert refused(s3.put_object_retention, Bucket=b, Key="seg", VersionId=vid, Retention=shorter,
                   BypassGovernanceRetention=True) == ("AccessDenied", 403)
    governance = {"Mode": "GOVERNANCE", "RetainUntilDate": until}
    assert refused(s3.put_object_retention, Bucket=b, Key="seg", VersionId=vid, Retention=governance,
                   BypassGovernanceRetention=True) == ("AccessDenied", 403)
    assert s3.get_object_retention(Bucket=b, Key="seg", VersionId=vid)["Retention"] == \
        {"Mode": "COMPLIANCE", "RetainUntilDate": until}
    longer = until + datetime.timedelta(days=1)
    s3.put_object_retention(Bucket=b, Key="seg", VersionId=vid,
                            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": longer})
    assert s3.get_object_retention(Bucket=b, Key="seg", VersionId=vid)["Retention"]["RetainUntilDate"] == longer


def test_a_put_to_the_same_key_adds_a_version_and_the_first_stays_byte_identical(radosgw):
    s3, b = radosgw.s3(), radosgw.make_bucket()
    first, _ = put_locked(s3, b, "seg", b"the first bytes")
    second, _ = put_locked(s3, b, "seg", b"an attacker's replacement")
    assert first != second
    versions = s3.list_object_versions(Bucket=b, Prefix="seg")["Versions"]
    assert sorted((v["VersionId"], v["IsLatest"]) for v in versions) == sorted([(first, False), (second, True)])
    assert s3.get_object(Bucket=b, Key="seg")["Body"].read() == b"an attacker's replacement"
    got = s3.get_object(Bucket=b, Key="seg", VersionId=first)
    assert got["Body"].read() == b"the first bytes"
    assert got["ETag"] == '"%s"' % hashlib.md5(b"the first bytes").hexdigest()


def test_a_delete_without_a_version_id_only_adds_a_delete_marker(radosgw):
    s3, b = radosgw.s3(), radosgw.make_bucket()
    vid, _ = put_locked(s3, b, "seg", b"kept")
    r = s3.delete_object(Bucket=b, Key="seg")
    assert r["DeleteMarker"] is True and r["VersionId"] != vid
    assert refused(s3.get_object, Bucket=b, Key="seg") == ("NoSuchKey", 404)
    listing = s3.list_object_versions(Bucket=b, Prefix="seg")
    assert [(m["VersionId"], m["IsLatest"]) for m in listing["DeleteMarkers"]] == [(r["VersionId"], True)]
    assert [v["VersionId"] for v in listing["Versions"]] == [vid]
    assert s3.get_object(Bucket=b, Key="seg", VersionId=vid)["Body"].read() == b"kept"


def test_a_bucket_made_without_object_lock_reports_no_lock_configuration(radosgw):
    """auditfs refuses such a bucket: GetObjectLockConfiguration fails with
    ObjectLockConfigurationNotFoundError (404), and a PUT with lock headers
    into it is refused."""
    s3, b = radosgw.s3(), radosgw.make_bucket(object_lock=False)
    assert refused(s3.get_object_lock_configuration, Bucket=b) == ("ObjectLockConfigurationNotFoundError", 404)
    assert "Status" not in s3.get_bucket_versioning(Bucket=b)
    assert refused(s3.put_object, Bucket=b, Key="seg", Body=b"x", ContentMD5=md5(b"x"),
                   ObjectLockMode="COMPLIANCE",
                   ObjectLockRetainUntilDate=now() + datetime.timedelta(days=1)) == ("InvalidRequest", 400)


def test_a_put_with_lock_headers_and_no_content_md5_is_accepted_by_radosgw(radosgw):
    """AWS documents Content-MD5 (or an x-amz-checksum) as required on a PUT
    with Object Lock headers; radosgw 16.2.15 does not require it: the PUT
    below carries neither and is stored locked. auditfs sends Content-MD5
    anyway (AWS needs it), and radosgw does check one that is sent."""
    s3, b = radosgw.s3(), radosgw.make_bucket()
    sent = []

    def strip_checksums(request, **_):
        for h in list(request.headers.keys()):
            if h.lower().startswith(("content-md5", "x-amz-checksum", "x-amz-sdk-checksum")):
                del request.headers[h]
        sent.append(dict(request.headers))

    s3.meta.events.register("before-sign.s3.PutObject", strip_checksums)
    until = now() + datetime.timedelta(days=1)
    vid = s3.put_object(Bucket=b, Key="seg", Body=b"no digest", ObjectLockMode="COMPLIANCE",
                        ObjectLockRetainUntilDate=until)["VersionId"]
    assert "x-amz-object-lock-mode" in sent[-1]
    assert not [h for h in sent[-1] if h.lower().startswith(("content-md5", "x-amz-checksum"))]
    assert s3.get_object_retention(Bucket=b, Key="seg", VersionId=vid)["Retention"]["Mode"] == "COMPLIANCE"
    assert refused(s3.delete_object, Bucket=b, Key="seg", VersionId=vid) == ("AccessDenied", 403)
    # A wrong Content-MD5 is refused (no retries: boto3 would retry BadDigest).
    once = radosgw.s3(retries={"mode": "standard", "max_attempts": 1})
    assert refused(once.put_object, Bucket=b, Key="seg", Body=b"these bytes", ContentMD5=md5(b"other bytes"),
                   ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until) == ("BadDigest", 400)
    assert len(s3.list_object_versions(Bucket=b, Prefix="seg")["Versions"]) == 1


def test_lock_headers_must_be_complete_and_in_the_future(radosgw):
    s3, b = radosgw.s3(), radosgw.make_bucket()
    assert refused(s3.put_object, Bucket=b, Key="a", Body=b"x", ContentMD5=md5(b"x"),
                   ObjectLockMode="COMPLIANCE") == ("InvalidArgument", 400)
    assert refused(s3.put_object, Bucket=b, Key="b", Body=b"x", ContentMD5=md5(b"x"), ObjectLockMode="COMPLIANCE",
                   ObjectLockRetainUntilDate=now() - datetime.timedelta(days=1)) == ("InvalidArgument", 400)
    assert "Versions" not in s3.list_object_versions(Bucket=b)


def test_the_gateway_stops_and_restarts_with_the_objects_kept(radosgw):
    s3, b = radosgw.s3(), radosgw.make_bucket()
    vid, _ = put_locked(s3, b, "seg", b"before the outage")
    radosgw.stop_gateway()
    try:
        down = radosgw.s3(connect_timeout=1, retries={"mode": "standard", "max_attempts": 1})
        with pytest.raises(EndpointConnectionError):
            down.head_bucket(Bucket=b)
    finally:
        radosgw.start_gateway()
    assert s3.get_object(Bucket=b, Key="seg", VersionId=vid)["Body"].read() == b"before the outage"
    assert refused(s3.delete_object, Bucket=b, Key="seg", VersionId=vid) == ("AccessDenied", 403)
