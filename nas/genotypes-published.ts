// Published DARTS-space cells (DARTS, PC-DARTS), as plain data from ../shared/spec/genotypes.json.
import type { GenotypeJson } from './genotype.js';

export const PUBLISHED: Record<string, GenotypeJson> = {
  DARTS_V1: {
    format: 'darts',
    normal: [["sep_conv_3x3", 1], ["sep_conv_3x3", 0], ["skip_connect", 0], ["sep_conv_3x3", 1], ["skip_connect", 0], ["sep_conv_3x3", 1], ["sep_conv_3x3", 0], ["skip_connect", 2]],
    normal_concat: [2, 3, 4, 5],
    reduce: [["max_pool_3x3", 0], ["max_pool_3x3", 1], ["skip_connect", 2], ["max_pool_3x3", 0], ["max_pool_3x3", 0], ["skip_connect", 2], ["skip_connect", 2], ["avg_pool_3x3", 0]],
    reduce_concat: [2, 3, 4, 5],
  },
  DARTS_V2: {
    format: 'darts',
    normal: [["sep_conv_3x3", 0], ["sep_conv_3x3", 1], ["sep_conv_3x3", 0], ["sep_conv_3x3", 1], ["sep_conv_3x3", 1], ["skip_connect", 0], ["skip_connect", 0], ["dil_conv_3x3", 2]],
    normal_concat: [2, 3, 4, 5],
    reduce: [["max_pool_3x3", 0], ["max_pool_3x3", 1], ["skip_connect", 2], ["max_pool_3x3", 1], ["max_pool_3x3", 0], ["skip_connect", 2], ["skip_connect", 2], ["max_pool_3x3", 1]],
    reduce_concat: [2, 3, 4, 5],
  },
  PC_DARTS_cifar: {
    format: 'darts',
    normal: [["sep_conv_3x3", 1], ["skip_connect", 0], ["sep_conv_3x3", 0], ["dil_conv_3x3", 1], ["sep_conv_5x5", 0], ["sep_conv_3x3", 1], ["avg_pool_3x3", 0], ["dil_conv_3x3", 1]],
    normal_concat: [2, 3, 4, 5],
    reduce: [["sep_conv_5x5", 1], ["max_pool_3x3", 0], ["sep_conv_5x5", 1], ["sep_conv_5x5", 2], ["sep_conv_3x3", 0], ["sep_conv_3x3", 3], ["sep_conv_3x3", 1], ["sep_conv_3x3", 2]],
    reduce_concat: [2, 3, 4, 5],
  },
  PC_DARTS_image: {
    format: 'darts',
    normal: [["skip_connect", 1], ["sep_conv_3x3", 0], ["sep_conv_3x3", 0], ["skip_connect", 1], ["sep_conv_3x3", 1], ["sep_conv_3x3", 3], ["sep_conv_3x3", 1], ["dil_conv_5x5", 4]],
    normal_concat: [2, 3, 4, 5],
    reduce: [["sep_conv_3x3", 0], ["skip_connect", 1], ["dil_conv_5x5", 2], ["max_pool_3x3", 1], ["sep_conv_3x3", 2], ["sep_conv_3x3", 1], ["sep_conv_5x5", 0], ["sep_conv_3x3", 3]],
    reduce_concat: [2, 3, 4, 5],
  },
};
