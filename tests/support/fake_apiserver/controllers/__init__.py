"""Controllers (notes §6). Each reconcile(now) looks at the store and moves it one step on;
Cluster.settle runs them until nothing changes, once per virtual second. The kubelet stand-in,
which is one too, is ../kubelet.py."""
