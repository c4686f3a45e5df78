"""Building blocks shared by the model families. Each takes its activation and norm by name."""

from archopt.models.blocks.act import ACTIVATIONS, make_act
from archopt.models.blocks.attention import (
    AttentionPool,
    EncoderBlock,
    SelfAttention,
    masked_mean,
    padding_mask,
)
from archopt.models.blocks.conv import ConvNormAct, conv_layer, global_pool, pool_layer
from archopt.models.blocks.mlp import DenseBlock, FeedForward, dense_stack
from archopt.models.blocks.norm import make_norm
from archopt.models.blocks.position import make_position
from archopt.models.blocks.reshape import ChannelsFirst, Permute, Reshape
from archopt.models.blocks.residual import BLOCKS, BasicBlock, Bottleneck

__all__ = ["ACTIVATIONS", "BLOCKS", "AttentionPool", "BasicBlock", "Bottleneck", "ChannelsFirst",
           "ConvNormAct", "DenseBlock", "EncoderBlock", "FeedForward", "Permute", "Reshape",
           "SelfAttention", "conv_layer", "dense_stack", "global_pool", "make_act", "make_norm",
           "make_position", "masked_mean", "padding_mask", "pool_layer"]
