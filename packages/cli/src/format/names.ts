/**
 * The names the CLI validates flags against (`--format`, `--recipe`), apart from the table code, so parsing
 * flags does not load arquero (a fifth of a command's start-up).
 */

/** Output formats of `--format`. */
export const TABLE_FORMATS = ['table', 'markdown', 'csv', 'json'] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

/** The recipes: `tools/repro/<recipe>.ts`, and `opnp report --recipe <recipe>`. */
export const RECIPES = ['cifar10', 'cifar100', 'imagenet-resnet50', 'imagenet-vit-b16'] as const;
export type RecipeName = (typeof RECIPES)[number];

/** The recipe whose paper tables hold the ablations (Tables 3, 4, 8, 9: ImageNet-1K with ResNet-50). */
export const ABLATION_RECIPE: RecipeName = 'imagenet-resnet50';

/** Whether `name` is a recipe. */
export function isRecipe(name: string): name is RecipeName {
  return (RECIPES as readonly string[]).includes(name);
}
