#!/usr/bin/env bash
# Scaffolds a workspace package: scripts/new-package.sh libs|apps NAME "description" [tag]
set -euo pipefail
kind=$1 name=$2 desc=$3
dir="$kind/$name"
type=$([ "$kind" = apps ] && echo app || echo lib)
mkdir -p "$dir/src"
cat > "$dir/package.json" <<JSON
{
  "name": "@vigil/$name",
  "version": "0.1.0",
  "private": true,
  "description": "$desc",
  "type": "module",
  "exports": {
    ".": {
      "@vigil/source": "./src/index.ts",
      "types": "./dist/index.d.ts",
      "default": "./dist/index.js"
    }
  },
  "scripts": {
    "build": "tsc -p tsconfig.build.json",
    "typecheck": "tsc -p tsconfig.json --noEmit",
    "lint": "eslint .",
    "test": "vitest run"
  },
  "nx": {
    "name": "$name",
    "tags": ["type:$type"]
  }
}
JSON
cat > "$dir/tsconfig.json" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "noEmit": true },
  "include": ["src", "*.ts"]
}
JSON
cat > "$dir/tsconfig.build.json" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "rootDir": "src", "outDir": "dist" },
  "include": ["src"],
  "exclude": ["src/**/*.test.ts", "src/**/*.contract.ts", "src/**/*.fixtures.ts"]
}
JSON
cat > "$dir/vitest.config.ts" <<TS
import { defineProject } from 'vitest/config';
import { vigilProject } from '../../vitest.shared.js';

export default defineProject(vigilProject('$name'));
TS
