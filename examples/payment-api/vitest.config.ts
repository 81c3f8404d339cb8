import { defineConfig } from 'vitest/config';
import { vigilProject } from '../../vitest.shared.js';

export default defineConfig(vigilProject('payment-api'));
