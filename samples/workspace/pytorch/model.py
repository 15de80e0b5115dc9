"""SimpleCNN: a small CNN for 32x32 RGB images and 10 classes, as the PyTorch tutorial writes it.

Trained on 32x32 Fashion-MNIST scenes; the weights are in simple_cnn.pth (a state_dict), the class
names in labels.txt. Input: 3x32x32 RGB scaled to [0, 1] (transforms.ToTensor(), no Normalize).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class SimpleCNN(nn.Module):
    def __init__(self):
        super(SimpleCNN, self).__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 8 * 8, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 32 * 8 * 8)
        x = self.fc1(x)
        return x
