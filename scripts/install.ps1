# upcat's installer for Windows: picks the release binary for this machine, checks it against SHA256SUMS, installs it.
#
#   irm https://github.com/upcat/upcat/releases/latest/download/install.ps1 | iex
#   & ([scriptblock]::Create((irm .../install.ps1))) -Version v0.1.0    # a given release
#
# Environment, as install.sh reads it:
#   UPCAT_INSTALL   install root; the binary goes to $UPCAT_INSTALL\bin\upcat.exe (default: %USERPROFILE%\.upcat)
#   UPCAT_BASE_URL  where the assets and SHA256SUMS are
#                   (default: https://github.com/upcat/upcat/releases/latest/download)
#   UPCAT_ARCH      use this CPU instead of the detected one (x64; arm64 gets the x64 build)
#   UPCAT_BASELINE  1: the x64 build for CPUs without AVX2; 0: the AVX2 build (default: ask the CPU)
#   UPCAT_NO_MODIFY_PATH  1: do not add the bin folder to the user's PATH
param([string]$Version = "")

$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest
# Windows PowerShell 5.1 speaks TLS 1.0 by default; GitHub wants 1.2.
[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12

# A throw, not exit: run through `irm | iex`, exit would close the user's terminal. Run with -File, it exits 1.
function Fail([string]$Message) {
  throw "upcat install: $Message"
}

# --- Which binary: upcat-windows-x64[-baseline].exe, the names scripts/build.ts gives them. ---

$arch = if ($env:UPCAT_ARCH) { $env:UPCAT_ARCH } else { $env:PROCESSOR_ARCHITECTURE }
switch -regex ($arch) {
  "^(AMD64|x86_64|x64)$" { $arch = "x64" }
  "^(ARM64|aarch64|arm64)$" {
    # There is no Windows arm64 build: Windows 11 runs the x64 one under emulation, which has no AVX2.
    Write-Output "There is no windows-arm64 build; installing the x64 one, which Windows 11 runs under emulation."
    $arch = "x64"
    if (-not $env:UPCAT_BASELINE) { $env:UPCAT_BASELINE = "1" }
  }
  default { Fail "unsupported architecture: $arch (there is a binary for windows-x64; or build from source with 'bun run build')" }
}

# CPUs before Haswell (2013), and VMs with a conservative CPU model, lack AVX2: they get the baseline
# build. Windows answers directly: IsProcessorFeaturePresent(PF_AVX2_INSTRUCTIONS_AVAILABLE = 40).
function Test-Avx2 {
  $kernel32 = Add-Type -PassThru -Name "UpcatCpu" -Namespace "Upcat" -MemberDefinition '[DllImport("kernel32.dll")] public static extern bool IsProcessorFeaturePresent(int feature);'
  return $kernel32::IsProcessorFeaturePresent(40)
}

if ([string]::IsNullOrEmpty($env:UPCAT_BASELINE)) {
  $baseline = if (Test-Avx2) { "" } else { "-baseline" }
} elseif ($env:UPCAT_BASELINE -eq "1") {
  $baseline = "-baseline"
} elseif ($env:UPCAT_BASELINE -eq "0") {
  $baseline = ""
} else {
  Fail "UPCAT_BASELINE is 1 (the build for CPUs without AVX2) or 0, not $($env:UPCAT_BASELINE)"
}
$asset = "upcat-windows-$arch$baseline.exe"

# --- Where from and where to. ---

if ($env:UPCAT_BASE_URL) {
  $base = $env:UPCAT_BASE_URL.TrimEnd("/")
} elseif ($Version) {
  $base = "https://github.com/upcat/upcat/releases/download/$Version"
} else {
  $base = "https://github.com/upcat/upcat/releases/latest/download"
}
$root = if ($env:UPCAT_INSTALL) { $env:UPCAT_INSTALL } else { Join-Path $env:USERPROFILE ".upcat" }
$binDir = Join-Path $root "bin"
$target = Join-Path $binDir "upcat.exe"

# --- Download and verify in a private folder; only a verified binary reaches $binDir. ---

$tmp = Join-Path ([IO.Path]::GetTempPath()) ("upcat-" + [Guid]::NewGuid().ToString("N"))
New-Item -ItemType Directory -Path $tmp | Out-Null
try {
  # Invoke-WebRequest draws a progress bar per KB, which makes a 100 MB download take minutes.
  $ProgressPreference = "SilentlyContinue"
  Write-Output "Downloading $asset from $base"
  try {
    Invoke-WebRequest -UseBasicParsing -Uri "$base/$asset" -OutFile (Join-Path $tmp $asset)
  } catch {
    Fail "download failed: $base/$asset ($($_.Exception.Message)); check UPCAT_BASE_URL and your network"
  }
  try {
    Invoke-WebRequest -UseBasicParsing -Uri "$base/SHA256SUMS" -OutFile (Join-Path $tmp "SHA256SUMS")
  } catch {
    Fail "download failed: $base/SHA256SUMS ($($_.Exception.Message)); check UPCAT_BASE_URL and your network"
  }

  $expected = $null
  foreach ($line in Get-Content (Join-Path $tmp "SHA256SUMS")) {
    $fields = $line -split "\s+", 2
    if ($fields.Count -eq 2 -and ($fields[1] -eq $asset -or $fields[1] -eq "*$asset")) { $expected = $fields[0].ToLowerInvariant(); break }
  }
  if (-not $expected) { Fail "SHA256SUMS from $base has no line for ${asset}: nothing was installed" }
  $actual = (Get-FileHash -Algorithm SHA256 -Path (Join-Path $tmp $asset)).Hash.ToLowerInvariant()
  if ($actual -ne $expected) {
    Fail "checksum mismatch for ${asset}: expected $expected, got $actual. The download is corrupt or was tampered with; nothing was installed"
  }

  try {
    New-Item -ItemType Directory -Force -Path $binDir | Out-Null
    # Copy beside the target, then rename: a crash never leaves a half-written upcat.exe.
    Copy-Item -Path (Join-Path $tmp $asset) -Destination "$target.new" -Force
    Move-Item -Path "$target.new" -Destination $target -Force
  } catch {
    Fail "cannot write $target ($($_.Exception.Message)); is upcat running? close it, or set UPCAT_INSTALL to a folder you can write"
  }
} finally {
  Remove-Item -Recurse -Force -Path $tmp -ErrorAction SilentlyContinue
}

# --- Tell the user what they got, and put it on PATH. ---

$installed = & $target --version 2>$null
if ($LASTEXITCODE -eq 0) {
  Write-Output "Installed $installed to $target"
} else {
  Write-Output "Installed $asset to $target, but it did not run on this machine"
}

if ($env:UPCAT_NO_MODIFY_PATH -ne "1") {
  $userPath = [Environment]::GetEnvironmentVariable("Path", "User")
  $parts = if ($userPath) { $userPath -split ";" } else { @() }
  if ($parts -notcontains $binDir) {
    [Environment]::SetEnvironmentVariable("Path", (@($binDir) + $parts | Where-Object { $_ }) -join ";", "User")
    Write-Output "Added $binDir to your user PATH: open a new terminal and run 'upcat --help'."
  }
  # This session too, so the next line of a script can run upcat.
  if (($env:Path -split ";") -notcontains $binDir) { $env:Path = "$binDir;$env:Path" }
}
