# Versions and places of the test tools that live outside PyPI's global site (source it).
# SAM CLI, for `sam validate` (the SAM transform, offline), in a venv of its own: its
# pinned boto3/botocore must not fight moto's.
SAM_VERSION=1.170.0
SAM_VENV="${FACEID_TOOLS_DIR:-$HOME/.cache/faceid-tools}/aws-sam-cli-$SAM_VERSION"
SAM="$SAM_VENV/bin/sam"
