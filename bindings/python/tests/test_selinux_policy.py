"""cocoon.selinux_policy / Container.selinux_policy: the generated per-container SELinux
policy (CIL text) of a container, through cocoon_builder_selinux_policy. Needs no
containers and no SELinux."""

import pytest

import cocoon


def test_policy_text_for_ro_and_rw_binds():
    c = cocoon.Container(["true"], mounts=[cocoon.Bind("/usr", "/ro", read_only=True)])
    text = cocoon.selinux_policy(c, "pyweb")
    assert text == c.selinux_policy("pyweb")
    assert text.startswith("; cocoon per-container SELinux policy `pyweb`")
    assert "(block pyweb\n    (blockinherit container)\n" in text
    assert "bind /usr -> /ro (ro): read\n" in text
    assert "(file (getattr open read ioctl lock map)))" in text
    assert " write" not in text
    rw = cocoon.Container(["true"], mounts=[cocoon.Bind("/tmp", "/rw")]).selinux_policy("pyrw")
    assert "bind /tmp -> /rw (rw): read-write" in rw
    assert "(file (getattr open read ioctl lock map write append" in rw


@pytest.mark.parametrize("bad", ["", "1a", "a-b", "a b", "container", "allow"])
def test_bad_names_raise_selinux_error(bad):
    c = cocoon.Container(["true"])
    with pytest.raises(cocoon.SELinuxError, match="policy name"):
        c.selinux_policy(bad)
