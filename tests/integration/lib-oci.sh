# shellcheck shell=bash
# mkimage ROOTFS OUT.tar NAME [CMD-JSON]: an OCI image layout tarball of
# ROOTFS (one gzip layer) named NAME (io.containerd.image.name), for
# `ctr images import`. CMD-JSON: the image's Cmd (default ["sh"]). Needs
# $T (work directory), jq, tar, gzip, sha256sum.
mkimage() {
  local rootfs=$1 out=$2 name=$3 cmd=${4:-'["sh"]'} w=$T/img
  rm -rf "$w"
  mkdir -p "$w/layout/blobs/sha256"
  tar -C "$rootfs" --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 \
    --exclude=./.cove-rootfs-stamp -cf "$w/layer.tar" . || return 1
  local diffid
  diffid=$(sha256sum "$w/layer.tar" | cut -d' ' -f1)
  gzip -n -c "$w/layer.tar" >"$w/layer.tgz" || return 1
  _mkimage_blob() { # FILE → "digest size", file moved into blobs/sha256/
    local d s
    d=$(sha256sum "$1" | cut -d' ' -f1)
    s=$(stat -c %s "$1")
    mv "$1" "$w/layout/blobs/sha256/$d"
    echo "$d $s"
  }
  local ld ls cd cs md ms
  read -r ld ls < <(_mkimage_blob "$w/layer.tgz")
  jq -cn --arg d "sha256:$diffid" --argjson cmd "$cmd" '{architecture: "amd64", os: "linux",
      config: {Env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: $cmd, WorkingDir: "/"},
      rootfs: {type: "layers", diff_ids: [$d]}}' >"$w/config.json"
  read -r cd cs < <(_mkimage_blob "$w/config.json")
  jq -cn --arg cd "sha256:$cd" --argjson cs "$cs" --arg ld "sha256:$ld" --argjson ls "$ls" '{schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
      layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $ld, size: $ls}]}' >"$w/manifest.json"
  read -r md ms < <(_mkimage_blob "$w/manifest.json")
  jq -cn --arg md "sha256:$md" --argjson ms "$ms" --arg n "$name" '{schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $md, size: $ms,
        platform: {architecture: "amd64", os: "linux"},
        annotations: {"io.containerd.image.name": $n, "org.opencontainers.image.ref.name": ($n | sub(".*:"; ""))}}]}' \
    >"$w/layout/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$w/layout/oci-layout"
  tar -C "$w/layout" -cf "$out" oci-layout index.json blobs
}
