"""Images through the Python bindings: a store, import of a podman-built docker-archive
and an umoci-built OCI layout, list/remove/gc, running from an image with its config as
defaults, typed errors for a tampered or hostile image."""

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile

import pytest

import cocoon

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="unpacking layers and containers need root")


def busybox_tree(root):
    for d in ("bin", "etc", "work", "tmp"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    shutil.copy("/usr/bin/busybox", os.path.join(root, "bin/busybox"))
    for a in ("sh", "id", "pwd", "cat", "echo"):
        os.symlink("busybox", os.path.join(root, "bin", a))
    with open(os.path.join(root, "etc/passwd"), "w") as f:
        f.write("root:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n")


def umoci_layout(tmp_path):
    tree = tmp_path / "tree"
    busybox_tree(str(tree))
    layout = tmp_path / "layout"
    img = f"{layout}:t"
    for args in (["init", "--layout", str(layout)], ["new", "--image", img], ["insert", "--image", img, str(tree), "/"],
                 ["config", "--image", img, "--config.env", "FOO=py", "--config.workingdir", "/work",
                  "--config.user", "nobody", "--config.cmd", "/bin/sh", "--config.cmd", "-c",
                  "--config.cmd", "echo cmd-ran"]):
        subprocess.run(["umoci", *args], check=True, stdout=subprocess.DEVNULL)
    return layout


def test_import_list_run_remove_gc(tmp_path):
    layout = umoci_layout(tmp_path)
    with cocoon.ImageStore(tmp_path / "store") as store:
        store.import_image(layout, name="py:1")
        store.import_image(layout, cocoon.ImageFormat.OCI_LAYOUT, name="py:2")
        infos = store.list()
        assert sorted(i.name for i in infos) == ["py:1", "py:2"]
        assert len({i.digest for i in infos}) == 1 and infos[0].image_id.startswith("sha256:")
        # The image's config as defaults.
        r = cocoon.run(["/bin/sh", "-c", "echo $FOO; pwd; id -u"], image=cocoon.Image(store, "py:1"),
                       capture_output=True)
        assert r.stdout == b"py\n/work\n65534\n", r.stderr
        # argv [] runs the image's Cmd; explicit settings win over the image's.
        r = cocoon.run([], image=cocoon.Image(store, "py:1"), capture_output=True)
        assert r.stdout == b"cmd-ran\n", r.stderr
        r = cocoon.run(["/bin/sh", "-c", "echo $FOO; pwd; id -u"], image=cocoon.Image(store, "py:2"),
                       env={"FOO": "mine"}, cwd="/tmp", user=(1234, 1234), capture_output=True)
        assert r.stdout == b"mine\n/tmp\n1234\n", r.stderr
        assert os.listdir(tmp_path / "store" / "containers") == []
        store.remove("py:1")
        assert [i.name for i in store.list()] == ["py:2"]
        assert store.gc() == 0  # py:2 still uses the layer
        store.remove("py:2")
        assert store.gc() == 1
        with pytest.raises(cocoon.ImageNotFound):
            store.remove("py:2")
        with pytest.raises(cocoon.ImageNotFound):
            cocoon.Container(["/bin/true"], image=cocoon.Image(store, "nope"))
        with pytest.raises(ValueError):
            cocoon.Container(["/bin/true"], image=cocoon.Image(store, "py:2"), rootfs="/")
    with pytest.raises(ValueError):
        store.list()  # closed


def test_podman_docker_archive(tmp_path):
    conf = tmp_path / "containers.conf"
    conf.write_text('[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
                    '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n')
    env = dict(os.environ, CONTAINERS_CONF=str(conf))
    tree = tmp_path / "tree"
    busybox_tree(str(tree))
    rootfs = tmp_path / "rootfs.tar"
    subprocess.run(["tar", "--numeric-owner", "-C", str(tree), "-cf", str(rootfs), "."], check=True)
    name = f"localhost/cocoon-py-test-{os.getpid()}:latest"
    subprocess.run(["podman", "import", "--change", "ENV FOO=podman", "--change", "WORKDIR /work", str(rootfs), name],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    try:
        archive = tmp_path / "docker.tar"
        subprocess.run(["podman", "save", "--format", "docker-archive", "-o", str(archive), name], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        subprocess.run(["podman", "rmi", "-f", name], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with cocoon.ImageStore(tmp_path / "store") as store:
        store.import_image(archive)
        assert [i.name for i in store.list()] == [name]
        r = cocoon.run(["/bin/sh", "-c", "echo $FOO; pwd"], image=cocoon.Image(store, name), capture_output=True)
        assert r.stdout == b"podman\n/work\n", r.stderr


def _layout_of(tmp_path, members):
    """A one-layer OCI layout of the tar members (name, TarInfo kind, data/linkname)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, kind, data in members:
            ti = tarfile.TarInfo(name)
            ti.type = kind
            if kind == tarfile.REGTYPE:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                ti.linkname = data
                t.addfile(ti)
    layer = buf.getvalue()
    layout = tmp_path / "hostile"
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(b):
        d = hashlib.sha256(b).hexdigest()
        (blobs / d).write_bytes(b)
        return "sha256:" + d, len(b)

    ld, ls = put(layer)
    cd, cs = put(json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                             "rootfs": {"type": "layers", "diff_ids": [ld]}}).encode())
    md, ms = put(json.dumps({"schemaVersion": 2, "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                                            "digest": cd, "size": cs},
                             "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld,
                                         "size": ls}]}).encode())
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms}]}))
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    return layout, blobs / ld[7:]


def test_hostile_and_tampered_images_raise_typed_errors(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    with cocoon.ImageStore(tmp_path / "store") as store:
        layout, _ = _layout_of(tmp_path / "a", [("../../../../../../../.." + str(outside) + "/pwned", tarfile.REGTYPE, b"x")])
        with pytest.raises(cocoon.ImageUnsafeError) as e:
            store.import_image(layout)
        assert e.value.code == cocoon.ErrorCode.IMAGE_UNSAFE
        layout, _ = _layout_of(tmp_path / "b", [("ok", tarfile.REGTYPE, b"x"), ("dev", tarfile.CHRTYPE, "")])
        with pytest.raises(cocoon.ImageUnsafeError):
            store.import_image(layout, device_nodes=False)
        layout, blob = _layout_of(tmp_path / "c", [("f", tarfile.REGTYPE, b"original")])
        data = blob.read_bytes().replace(b"original", b"Original")
        blob.write_bytes(data)
        with pytest.raises(cocoon.ImageDigestError):
            store.import_image(layout)
        with pytest.raises(cocoon.ImageFormatError):
            store.import_image("/proc/self/status")
        assert store.list() == []
        assert os.listdir(tmp_path / "store" / "layers") == []
        assert os.listdir(tmp_path / "store" / "tmp") == []
    assert os.listdir(outside) == []


def test_commit_and_export(tmp_path):
    layout = umoci_layout(tmp_path)
    with cocoon.ImageStore(tmp_path / "store") as store:
        store.import_image(layout, name="base:1")
        with cocoon.Container(["/bin/sh", "-c", "echo py-change > /tmp/f; id -u"], image=cocoon.Image(store, "base:1"),
                              user=(0, 0), stdout=cocoon.PIPE) as c:
            assert c.stdout.read() == b"0\n"  # an explicit root wins over the image's User
            upper = os.path.join(c.writable_layer, b"upper")
            with open(os.path.join(upper, b"tmp", b"f"), "rb") as f:
                assert f.read() == b"py-change\n"
            assert c.wait().code == 0
            store.commit(c, "changed:1", cmd=["/bin/sh", "-c", "cat /tmp/f; echo $BAR"], env={"BAR": "py"})
        assert not os.path.exists(upper), "removed with the container"
        with cocoon.Container(["/bin/true"]) as plain:
            assert plain.writable_layer is None
        r = cocoon.run([], image=cocoon.Image(store, "changed:1"), capture_output=True)
        assert r.stdout == b"py-change\npy\n", r.stderr
        dest = tmp_path / "out.tar"
        store.export("changed:1", dest)
        with pytest.raises(cocoon.CocoonOSError):
            store.export("changed:1", dest)
        store.export("changed:1", tmp_path / "out-layout", cocoon.ExportFormat.OCI_LAYOUT)
        assert (tmp_path / "out-layout" / "index.json").exists()
        with cocoon.ImageStore(tmp_path / "store2") as other:
            other.import_image(dest, name="again:1")
            r = cocoon.run([], image=cocoon.Image(other, "again:1"), capture_output=True)
            assert r.stdout == b"py-change\npy\n", r.stderr
