import jupyter from '@jupyter/eslint-plugin';
import prettierRecommended from 'eslint-plugin-prettier/recommended';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules',
      'lib',
      'coverage',
      'jupyter_mm',
      'ui-tests',
      '.mm',
      '**/*.d.ts',
      '*.config.js',
      'babel.config.js',
      'style/index.js',
      // Generated from jupyter_mm/server/openapi.yaml (`jlpm openapi`, run by build and by jest; not committed).
      'src/openapi.ts'
    ]
  },
  ...tseslint.configs.recommended,
  ...jupyter.configs.recommended,
  prettierRecommended,
  {
    files: ['src/**/*.{ts,tsx}'],
    rules: {
      '@typescript-eslint/naming-convention': [
        'error',
        {
          selector: 'interface',
          format: ['PascalCase'],
          custom: { regex: '^I[A-Z]', match: true }
        }
      ],
      '@typescript-eslint/no-unused-vars': ['warn', { args: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-namespace': 'off',
      '@typescript-eslint/no-use-before-define': 'off',
      curly: ['error', 'all'],
      eqeqeq: 'error',
      'no-console': 'error',
      'prefer-arrow-callback': 'error',
      // The UI is English-only for now; translation comes with ITranslator later.
      'jupyter/no-untranslated-string': 'off'
    }
  }
);
