# Shared by the bench scripts (sourced, not run).

# make_layout LAYOUT MIB SCRATCH: an OCI image layout at LAYOUT with one
# image tagged v1: a layer of MIB MiB of fresh random bytes (uncompressed
# tar media type; nothing reads it as a tar) and its config. SCRATCH is a
# directory for the files on their way in.
make_layout() {
  local layout=$1 mib=$2 scratch=$3
  rm -rf "$layout"; mkdir -p "$layout/blobs/sha256"
  head -c $((mib * 1024 * 1024)) /dev/urandom >"$scratch/layer"
  local layer config manifest manifest_size
  layer=$(sha256sum "$scratch/layer" | cut -d' ' -f1)
  mv "$scratch/layer" "$layout/blobs/sha256/$layer"
  printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$layer" >"$scratch/config"
  config=$(sha256sum "$scratch/config" | cut -d' ' -f1)
  mv "$scratch/config" "$layout/blobs/sha256/$config"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$config" "$(stat -c %s "$layout/blobs/sha256/$config")" "$layer" "$((mib * 1024 * 1024))" >"$scratch/manifest"
  manifest=$(sha256sum "$scratch/manifest" | cut -d' ' -f1)
  manifest_size=$(stat -c %s "$scratch/manifest")
  mv "$scratch/manifest" "$layout/blobs/sha256/$manifest"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}' \
    "$manifest" "$manifest_size" >"$layout/index.json"
}
