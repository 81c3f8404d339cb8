import { defineProject } from 'vitest/config';
import { vigilProject } from '../../vitest.shared.js';

export default defineProject(vigilProject('executor'));
