"""The Kubernetes platform: targets in a cluster reached through a kubeconfig, and the faults that act on them.

    platform.py    KubernetesTarget, KubernetesSettings, KubernetesPlatform (entry point ``kubernetes``)
    client.py      connect(address) -> lightkube.Client; api_errors() translates lightkube's errors
    objects.py     reading targets: workloads, pods, owners, namespaces; the handle's fields
    safety.py      production refusal and the allowlist (labels, the stack file's allow.kubernetes)
    selection.py   which pods, deterministic for a seed (count | percent, max)
    faults/        one module per fault family

lightkube is imported only inside this package: the core never imports it (tests/test_import_graph.py).
"""
