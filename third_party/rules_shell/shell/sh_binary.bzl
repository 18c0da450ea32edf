"""Re-exports Bazel 4.2.3's native sh_binary under rules_shell's load path."""

def sh_binary(**attrs):
    native.sh_binary(**attrs)
