"""The local Kubernetes control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok
(simulated nodes), built from source by scripts/build-kubernetes.sh and run as plain processes on 127.0.0.1.

    config.py     ports, folders and binaries (the environment is passed in)
    certs.py      the cluster's CA, serving and client certificates, the service-account key
    api.py        a few HTTPS calls to the API server, for ``up`` and ``status`` (not the fault client)
    processes.py  starting, finding (pid files that survive a stale pid) and stopping one process
    manager.py    ``up | status | down`` as one object
"""
